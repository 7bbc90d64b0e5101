#!/usr/bin/env python3
"""A class of lesson-style TCP clients (GBK), as students write them: each connects, sends a
few lines, prints what the server says, and stays connected for a while.

    python3 scripts/lesson_clients.py PORT [SECONDS_TO_STAY] [HOST] [STUDENTS]

Loopback by default, four students by default (a class of 30 for the classroom pictures);
used by scripts/screenshots.sh.
"""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
stay = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
count = int(sys.argv[4]) if len(sys.argv) > 4 else 4
first = ["张三", "李四", "王五", "赵六"]
names = first[:count] + ["学生%02d" % (i + 1) for i in range(len(first), count)]


def student(name, delay):
    time.sleep(delay)
    s = socket.create_connection((host, port))
    s.settimeout(0.5)
    for n in range(2):
        s.send(("%s：第%d次发送" % (name, n + 1)).encode("gbk"))
        time.sleep(0.6)
        try:
            reply = s.recv(1024)
            if reply:
                print(name, "got", reply.decode("gbk", errors="replace"), flush=True)
        except socket.timeout:
            pass
    time.sleep(stay)
    s.close()


threads = [threading.Thread(target=student, args=(n, i * 0.1)) for i, n in enumerate(names)]
for t in threads:
    t.start()
for t in threads:
    t.join()
