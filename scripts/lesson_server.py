#!/usr/bin/env python3
"""The lesson's TCP server (exercise 1 style), as a student would write it: GBK text, serves
clients one after another, replies to every recv(1024) until the client closes.

    python3 scripts/lesson_server.py [PORT]     # PORT 0 (default) lets the OS choose

Prints "listening on 127.0.0.1:PORT" first, so scripts can read the port back. Loopback only.
"""
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(128)
print("listening on %s:%d" % server.getsockname(), flush=True)
while True:
    client, addr = server.accept()
    client.send("欢迎！你已连接到课堂服务器。\n".encode("gbk"))
    while True:
        data = client.recv(1024)
        if not data:
            break
        text = data.decode("gbk", errors="replace")
        client.send(("服务器收到：" + text + "\n").encode("gbk"))
    client.close()
