#!/usr/bin/env python3
"""The lesson's file server (exercise 2), as a student writes it: the client's first recv(1024)
is the file name; the reply is the file's raw bytes, then close. A file that doesn't exist is
a close with nothing sent. Clients are served one after another.

    python3 tests/lesson_file_server.py [PORT] [HOST] [DIR]

PORT 0 (default) lets the OS choose; HOST defaults to 127.0.0.1; DIR to the current folder.
The first line printed is "listening on HOST:PORT" with the real port, so tests can read it
back. Names are decoded as UTF-8, else GBK (what Windows classes send).

Like the students' version it does no checking of the name: loopback tests only.
"""
import os
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
folder = sys.argv[3] if len(sys.argv) > 3 else "."

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen(5)
print("listening on %s:%d" % server.getsockname(), flush=True)

while True:
    client, addr = server.accept()
    data = client.recv(1024)
    try:
        name = data.decode("utf-8")
    except UnicodeDecodeError:
        name = data.decode("gbk", errors="replace")
    name = name.strip()
    path = os.path.join(folder, name)
    if name and os.path.isfile(path):
        f = open(path, "rb")
        sent = 0
        while True:
            chunk = f.read(1024)
            if not chunk:
                break
            client.sendall(chunk)
            sent += len(chunk)
        f.close()
        print("sent %r to %s:%d, %d bytes" % (name, addr[0], addr[1], sent), flush=True)
    else:
        print("no file %r for %s:%d" % (name, addr[0], addr[1]), flush=True)
    client.close()
