#!/usr/bin/env python3
"""The lesson's download client (exercise 2), as a student writes it: connect, send the file
name, then recv(1024) until the server closes, saving everything as "[new]NAME".

    python3 tests/lesson_file_client.py PORT NAME [HOST] [DIR] [ENCODING]

HOST defaults to 127.0.0.1, DIR (where "[new]NAME" is saved) to the current folder, ENCODING
(of the name on the wire) to utf-8; gbk is what Windows classes send. When the server closes
without sending anything, nothing is saved and the exit code is 1.

The first line printed is "connected to HOST:PORT from HOST:PORT" (the real local port).
"""
import os
import socket
import sys

port = int(sys.argv[1])
name = sys.argv[2]
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
folder = sys.argv[4] if len(sys.argv) > 4 else "."
encoding = sys.argv[5] if len(sys.argv) > 5 else "utf-8"

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.settimeout(20)
client.connect((host, port))
print("connected to %s:%d from %s:%d" % (client.getpeername() + client.getsockname()), flush=True)
client.send(name.encode(encoding))

data = client.recv(1024)
if not data:
    print("the server sent nothing: no such file?", flush=True)
    client.close()
    sys.exit(1)

path = os.path.join(folder, "[new]" + os.path.basename(name))
f = open(path, "wb")
total = 0
while data:
    f.write(data)
    total += len(data)
    data = client.recv(1024)
f.close()
client.close()
print("saved %d bytes" % total, flush=True)
