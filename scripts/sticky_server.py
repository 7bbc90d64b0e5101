"""A line server whose replies TCP merges and splits, for the protocol bench's screenshots.

    python3 sticky_server.py PORT

prints `listening on 127.0.0.1:PORT`, then answers each line a client sends:
LIST -> three lines in one send() (they arrive in one recv(): 粘包);
BIG -> one long line in two send()s 150 ms apart (it takes two recv()s: 拆包);
PING n -> PONG n; anything else -> the line in capitals.
"""

import socket
import sys
import threading
import time


def serve(conn):
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if line == b"LIST":
                conn.sendall(b"item 1\nitem 2\nitem 3\n")
            elif line == b"BIG":
                text = b"a long line that TCP hands over in two pieces " * 2
                conn.sendall(text[:40])
                time.sleep(0.15)
                conn.sendall(text[40:] + b"\n")
            elif line.startswith(b"PING"):
                conn.sendall(b"PONG" + line[4:] + b"\n")
            else:
                conn.sendall(line.upper() + b"\n")
    conn.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    srv.listen(16)
    print("listening on 127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
