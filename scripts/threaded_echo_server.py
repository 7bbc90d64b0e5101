#!/usr/bin/env python3
"""An exercise-1 echo server written the way the lesson teaches it: one thread per client,
recv(1024) in a loop, sendall() what came, close when recv() returns b''. The benchmark's
"lesson-style" peer for `socket-workbench load` (scripts/bench-load.sh).

    python3 scripts/threaded_echo_server.py [PORT] [BACKLOG]   # PORT 0 (default): the OS chooses

Prints "listening on 127.0.0.1:PORT" first, so scripts can read the port back. Loopback only.
"""
import socket
import sys
import threading

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 128
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(backlog)
print("listening on %s:%d" % server.getsockname(), flush=True)


def serve(client):
    with client:
        while True:
            try:
                data = client.recv(1024)
            except OSError:
                return
            if not data:
                return
            try:
                client.sendall(data)
            except OSError:
                return


while True:
    client, _ = server.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
