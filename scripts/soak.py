#!/usr/bin/env python3
"""Soak run: the headless engines under several minutes of hostile and unlucky
load, with their resident memory, descriptors and threads sampled every second, and all of
them expected back at their baseline once the load stops.

    cargo build --release && python3 scripts/soak.py [--secs 180] [--bin target/release/socket-workbench]

The programs under load, each a `socket-workbench` process on 127.0.0.1 (ports chosen by the
system):
  * `tcp-server --echo`: 500 clients churning (connect, send, read the echo, close, again),
    two floods that send 64 KiB chunks as fast as they can and read back, and ten clients
    that send and never read (the server holds them back);
  * `serve-files --stall-timeout 5 --max-transfers 8`: ten stalled readers that ask for a
    64 MiB file and never read (each ends after the stall timeout, and they ask again),
    verified downloads of a 16 MiB file cut half-way and resumed from the offset (the digest
    must match), and lesson downloads of small files;
  * `udp --echo`: bursts of 5,000 datagrams every two seconds.

Linux only (it reads /proc). Prints a line per program and second, then a table of baseline,
peak and end; exits 1 if any figure did not come back (RSS within 16 MiB of its baseline,
descriptors and threads exactly) or a check failed (a resumed download whose digest differs).
"""
import argparse
import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

RSS_SLACK_KIB = 16 * 1024


def proc_figures(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds, threads


class Program:
    def __init__(self, name, argv):
        self.name = name
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        first = self.proc.stdout.readline().decode().strip()
        if not first.startswith("listening on") and not first.startswith("bound to"):
            # udp prints "bound to ADDR" (or similar); take the last word as the address.
            pass
        self.addr = first.split()[-1]
        host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        # Keep reading stdout so the program never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self.samples = []

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def sample(self):
        fig = proc_figures(self.proc.pid)
        self.samples.append(fig)
        return fig

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def recv_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(min(65536, n - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


class Load:
    def __init__(self, stop):
        self.stop = stop
        self.errors = []
        self.counts = {}
        self.lock = threading.Lock()

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def fail(self, what):
        with self.lock:
            self.errors.append(what)


def churn(load, port, held):
    """Holds `held` connections, replacing them one by one: connect, send, read echo, close."""
    conns = []
    while not load.stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            msg = os.urandom(random.randint(1, 512))
            s.sendall(msg)
            if recv_exactly(s, len(msg)) != msg:
                load.fail("churn: echo differs")
            conns.append(s)
            load.count("churn connections")
        except OSError:
            load.count("churn errors")
            time.sleep(0.05)
        if len(conns) > held:
            conns.pop(0).close()
    for s in conns:
        s.close()


def flood(load, port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        load.fail("flood: connect")
        return
    chunk = b"\n" * 65536
    sent = [0]

    def reader():
        while not load.stop.is_set():
            try:
                d = s.recv(1 << 20)
            except OSError:
                return
            if not d:
                return
            load.count("flood bytes back", len(d))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.settimeout(1)
    while not load.stop.is_set():
        try:
            s.send(chunk)
            sent[0] += len(chunk)
        except socket.timeout:
            pass
        except OSError:
            break
    s.close()
    t.join(5)


def never_reads(load, port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        s.settimeout(0.5)
    except OSError:
        load.fail("never-reads: connect")
        return
    while not load.stop.is_set():
        try:
            s.send(b"x" * 65536)
        except socket.timeout:
            pass
        except OSError:
            break
    s.close()


def stalled_download(load, port, name):
    while not load.stop.is_set():
        try:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            s.connect(("127.0.0.1", port))
            s.sendall(name.encode())
            # Never read; wait until the server gives up (its stall timeout) or we stop.
            # Unread data still sits in our buffer then, so the kernel's state says it:
            # CLOSE_WAIT (8) once the server's FIN has come.
            deadline = time.time() + 30
            while not load.stop.is_set() and time.time() < deadline:
                time.sleep(0.5)
                state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
                if state != 1:  # no longer ESTABLISHED
                    break
            s.close()
            load.count("stalled downloads")
        except OSError:
            load.count("stalled errors")
            time.sleep(0.2)


def verified_get(port, name, offset, cut_after=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"\0SWB/1 GET %d %s\n" % (offset, name.encode()))
    f = s.makefile("rb")
    header = f.readline().decode().split()
    if header[:2] != ["SWB/1", "OK"]:
        raise RuntimeError(f"reply {header}")
    size, digest = int(header[2]), header[3]
    want = size - offset if cut_after is None else min(cut_after, size - offset)
    body = bytearray()
    while len(body) < want:
        d = f.read1(min(1 << 20, want - len(body)))
        if not d:
            break
        body += d
    s.close()
    return size, digest, bytes(body)


def cut_and_resume(load, port, name, data):
    while not load.stop.is_set():
        try:
            cut = random.randint(1, len(data) - 1)
            size, digest, first = verified_get(port, name, 0, cut_after=cut)
            size2, digest2, rest = verified_get(port, name, len(first))
            whole = first + rest
            if size != len(data) or digest != digest2:
                load.fail("resume: header changed")
            elif hashlib.blake2b(whole).digest() != hashlib.blake2b(data).digest():
                load.fail(f"resume: bytes differ after a cut at {len(first)}")
            else:
                load.count("downloads cut and resumed")
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            load.fail(f"resume: {e}")
            time.sleep(0.5)


def lesson_gets(load, port):
    while not load.stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"small.txt")
            got = bytearray()
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
            s.close()
            if bytes(got) != b"small file\n" * 100:
                load.fail("lesson download differs")
            else:
                load.count("lesson downloads")
        except OSError:
            load.count("lesson errors")
            time.sleep(0.1)


def udp_bursts(load, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.01)
    while not load.stop.is_set():
        for _ in range(5000):
            s.sendto(os.urandom(64), ("127.0.0.1", port))
        load.count("udp datagrams", 5000)
        end = time.time() + 2
        while time.time() < end and not load.stop.is_set():
            try:
                s.recvfrom(2048)
                load.count("udp echoes")
            except socket.timeout:
                pass
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--secs", type=int, default=180, help="seconds of load (default 180)")
    ap.add_argument("--bin", default="target/release/socket-workbench")
    ap.add_argument("--settle", type=int, default=20,
                    help="seconds allowed to come back after the load (default 20)")
    args = ap.parse_args()
    if not os.path.exists("/proc/self/status"):
        sys.exit("soak: needs Linux (/proc)")
    if not os.path.exists(args.bin):
        sys.exit(f"soak: {args.bin} is missing: cargo build --release")

    tmp = tempfile.mkdtemp(prefix="swb-soak-")
    shared = os.path.join(tmp, "shared")
    os.mkdir(shared)
    with open(os.path.join(shared, "big.bin"), "wb") as f:
        f.write(os.urandom(64 << 20))
    resumable = os.urandom(16 << 20)
    with open(os.path.join(shared, "resume.bin"), "wb") as f:
        f.write(resumable)
    with open(os.path.join(shared, "small.txt"), "wb") as f:
        f.write(b"small file\n" * 100)

    programs = []
    try:
        server = Program("tcp-server", [args.bin, "tcp-server", "127.0.0.1:0", "--echo"])
        files = Program("serve-files", [args.bin, "serve-files", shared, "--listen",
                                        "127.0.0.1:0", "--stall-timeout", "5",
                                        "--max-transfers", "8"])
        udp = Program("udp", [args.bin, "udp", "127.0.0.1:0", "--echo", "--wait", "100000"])
        programs = [server, files, udp]
        # One request each first, so the baseline holds what a program keeps once it has
        # served at all (the file server's spare descriptors, buffers made on first use).
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"warm-up")
            recv_exactly(s, 7)
        with socket.create_connection(("127.0.0.1", files.port), timeout=10) as s:
            s.sendall(b"small.txt")
            while s.recv(65536):
                pass
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"warm-up", ("127.0.0.1", udp.port))
            s.recvfrom(2048)
        time.sleep(1.0)
        for p in programs:
            p.sample()
        baseline = {p.name: p.samples[-1] for p in programs}

        stop = threading.Event()
        load = Load(stop)
        workers = []

        def run(target, *a):
            t = threading.Thread(target=target, args=(load, *a), daemon=True)
            t.start()
            workers.append(t)

        for _ in range(50):
            run(churn, server.port, 10)  # 50 threads × 10 held = 500 clients
        for _ in range(2):
            run(flood, server.port)
        for _ in range(10):
            run(never_reads, server.port)
        for _ in range(10):
            run(stalled_download, files.port, "big.bin")
        for _ in range(2):
            run(cut_and_resume, files.port, "resume.bin", resumable)
        for _ in range(2):
            run(lesson_gets, files.port)
        run(udp_bursts, udp.port)

        start = time.time()
        while time.time() - start < args.secs:
            time.sleep(1)
            line = [f"{int(time.time() - start):4d}s"]
            for p in programs:
                rss, fds, threads = p.sample()
                line.append(f"{p.name} {rss // 1024} MiB {fds} fds {threads} thr")
            print("  ".join(line), flush=True)
        stop.set()
        for t in workers:
            t.join(15)

        # Back to baseline?
        settle_end = time.time() + args.settle
        while True:
            ends = {p.name: p.sample() for p in programs}
            back = all(
                ends[n][1] == baseline[n][1] and ends[n][2] == baseline[n][2]
                and ends[n][0] <= baseline[n][0] + RSS_SLACK_KIB
                for n in ends)
            if back or time.time() > settle_end:
                break
            time.sleep(1)
        settled = args.settle - max(0, int(settle_end - time.time()))

        print()
        print(f"load for {args.secs} s; back after the load within {settled} s"
              if back else f"NOT back within {args.settle} s")
        print(f"{'program':12} | {'RSS MiB base/peak/end':>22} | {'fds base/peak/end':>18} |"
              f" {'threads base/peak/end':>22}")
        for p in programs:
            b, e = baseline[p.name], ends[p.name]
            peak = [max(s[i] for s in p.samples) for i in range(3)]
            print(f"{p.name:12} | {b[0] // 1024:>6} / {peak[0] // 1024:>5} / {e[0] // 1024:>5} |"
                  f" {b[1]:>5} / {peak[1]:>4} / {e[1]:>4} | {b[2]:>7} / {peak[2]:>5} / {e[2]:>5}")
        print()
        for k in sorted(load.counts):
            print(f"  {k}: {load.counts[k]}")
        if load.errors:
            print(f"\n{len(load.errors)} failed checks, first ones:")
            for e in load.errors[:10]:
                print("  " + e)
        ok = back and not load.errors
        print("\nsoak: " + ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        for p in programs:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
