#!/usr/bin/env python3
"""A lesson-style UDP peer (GBK): answers every datagram with "收到：" plus what came, and
greets a target once at start if one is given.

    python3 scripts/lesson_udp_peer.py PORT [GREET_HOST:PORT]

Loopback only; used by scripts/screenshots.sh.
"""
import socket
import sys

port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
print("bound to 127.0.0.1:%d" % s.getsockname()[1], flush=True)
if len(sys.argv) > 2:
    host, p = sys.argv[2].rsplit(":", 1)
    s.sendto("大家好，我是 UDP 同学！".encode("gbk"), (host, int(p)))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(("收到：" + data.decode("gbk", errors="replace")).encode("gbk"), addr)
