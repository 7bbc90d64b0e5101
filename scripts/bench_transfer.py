#!/usr/bin/env python3
"""File transfer benchmark: 1 GiB over loopback, measured in one run against
yardsticks, and a 4 GiB transfer for constant memory.

    cargo build --release && python3 scripts/bench_transfer.py [--size-mib 1024] [--big-gib 4]
                                                             [--runs 3] [--dir DIR]

What it measures (every figure printed, nothing asserted):
  * our server (`socket-workbench serve-files`, sendfile) → our client (`download`, lesson and
    verified mode, 1 MiB reads, written to disk);
  * the same server → a lesson-style Python client (recv(65536) until the server closes,
    written to disk), the yardstick a lesson would use;
  * iperf3 on loopback (memory to memory, no disk: an upper bound for any file transfer);
  * peak resident memory (VmHWM / ru_maxrss) of the server and of our client, for the 1 GiB
    runs and for a 4 GiB file, which must not grow with the file.
Only 127.0.0.1 is used; ports are chosen by the OS. Files live under DIR (default /dev/shm
when it has room, so the disk's speed does not decide the result; else the system temp dir)
and are removed at the end.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "socket-workbench")

LESSON_CLIENT = r"""
import socket, sys
port, name, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", port))
c.send(name.encode("utf-8"))
total = 0
with open(out, "wb") as f:
    while True:
        data = c.recv(65536)
        if not data:
            break
        f.write(data)
        total += len(data)
c.close()
print(total)
"""


# Which path `download` takes to move bytes from the socket into the file (net/sys).
RECEIVE_PATH = {
    "linux": "splice(): socket → pipe → file, no copy through user space (the server: sendfile)",
    "win32": "recv() into a 1 MiB buffer, then write (the server: read and send through a 256 KiB buffer)",
    "darwin": "recv() into a 1 MiB buffer, then write (the server: read and send through a 256 KiB buffer)",
}.get(sys.platform, "recv() into a 1 MiB buffer, then write")


def peak_of(cmd):
    """Runs cmd; returns (seconds, exit code, peak RSS in KiB, stdout). The peak is the child's
    VmHWM, polled from /proc while it runs (ru_maxrss would include this Python process,
    which the child inherits across fork)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, vm(proc.pid, "VmHWM"))
        except OSError:
            pass
        time.sleep(0.005)
    took = time.perf_counter() - start
    return took, proc.returncode, peak, ""


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # KiB
    return -1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_file(path, size):
    """A file of `size` bytes of pseudo-random data (not sparse: sendfile must read pages)."""
    block = os.urandom(8 * 1024 * 1024)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def mbps(size, secs):
    return size / secs / 1e6


def iperf3(size):
    if not shutil.which("iperf3"):
        return None
    port = free_port()
    server = subprocess.Popen(
        ["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        # The probe connection above counts as the one client for -1 on some versions: start
        # the real server again if it has gone.
        time.sleep(0.2)
        if server.poll() is not None:
            server = subprocess.Popen(
                ["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        out = subprocess.run(
            ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", str(size), "-f", "m"],
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
    finally:
        server.kill()
        server.wait()
    # The receiver's line: "[  5]   0.00-0.62  sec  1.00 GBytes  13851 Mbits/sec  receiver"
    m = re.search(r"([\d.]+) Mbits/sec\s+receiver", out)
    return float(m.group(1)) * 1e6 / 8 / 1e6 if m else None  # MB/s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--big-gib", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"bench_transfer: build first (cargo build --release): {BIN} is missing")
    size = args.size_mib * 1024 * 1024
    big = args.big_gib * 1024 * 1024 * 1024
    base = args.dir
    if base is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and shutil.disk_usage("/dev/shm").free > 2 * (size + big) + (1 << 30) else None
    work = tempfile.mkdtemp(prefix="swb-bench-", dir=base)
    share = os.path.join(work, "share")
    out_dir = os.path.join(work, "out")
    os.makedirs(share)
    os.makedirs(out_dir)
    print(f"file transfer bench: {args.size_mib} MiB × {args.runs} runs per client, then {args.big_gib} GiB; files under {work}")
    server = None
    try:
        make_file(os.path.join(share, "one.bin"), size)
        server = subprocess.Popen(
            [BIN, "serve-files", share, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        first = server.stdout.readline().strip()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)$", first)
        if not m:
            sys.exit(f"bench_transfer: unexpected first line from serve-files: {first!r}")
        port = int(m.group(1))
        # Keep reading the server's per-request lines so its stdout never blocks it.
        import threading

        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        server_idle_kib = vm(server.pid, "VmRSS")

        results = {"ours (lesson)": [], "ours (verified)": [], "python, recv(65536)": []}
        client_peaks = {k: 0 for k in results}
        ip = []
        # Each run measures iperf3 right before our client, so a machine that is busier in one
        # moment than another weighs on both sides of that run's ratio.
        pairs = []
        for run in range(args.runs):
            yard = iperf3(size)
            if yard:
                ip.append(yard)
                print(f"  run {run + 1} {'iperf3 (memory to memory)':22} {yard:8.0f} MB/s")
            for label in results:
                dest = os.path.join(out_dir, f"r{run}-{abs(hash(label))}.bin")
                if label.startswith("python"):
                    cmd = [sys.executable, "-c", LESSON_CLIENT, str(port), "one.bin", dest]
                else:
                    cmd = [BIN, "download", f"127.0.0.1:{port}", "one.bin", "-o", dest]
                    if "verified" in label:
                        cmd.append("--verify")
                took, code, peak, _ = peak_of(cmd)
                got = os.path.getsize(dest) if os.path.exists(dest) else -1
                if code != 0 or got != size:
                    print(f"  run {run + 1} {label}: FAILED (exit {code}, {got} bytes)")
                    continue
                results[label].append(mbps(size, took))
                if label == "ours (lesson)" and yard:
                    pairs.append(mbps(size, took) / yard)
                client_peaks[label] = max(client_peaks[label], peak)
                print(f"  run {run + 1} {label:22} {mbps(size, took):8.0f} MB/s  ({took:.3f} s, client peak RSS {peak / 1024:.1f} MiB)")
                os.remove(dest)
        server_after_kib = vm(server.pid, "VmHWM")

        print()
        print(f"{'client (same server, same run)':34} | {'median MB/s':>11} | {'min–max':>13} | {'peak RSS':>9}")
        print("-" * 78)
        med = {}
        for label, xs in results.items():
            if xs:
                med[label] = statistics.median(xs)
                print(f"{label:34} | {med[label]:11.0f} | {min(xs):6.0f}–{max(xs):<6.0f} | {client_peaks[label] / 1024:6.1f} MiB")
        if ip:
            med["iperf3"] = statistics.median(ip)
            print(f"{'iperf3 -n (memory to memory)':34} | {med['iperf3']:11.0f} | {min(ip):6.0f}–{max(ip):<6.0f} | {'-':>9}")
        else:
            print("iperf3: not installed (apt-get install -y iperf3), yardstick skipped")
        print()
        ours = med.get("ours (lesson)")
        if ours and med.get("python, recv(65536)"):
            r = ours / med["python, recv(65536)"]
            print(f"ours / python client: {r:.2f}×  (goal ≥ 2×: {'met' if r >= 2 else 'NOT met'})")
        if ours and med.get("iperf3"):
            r = ours / med["iperf3"]
            print(f"ours / iperf3:        {r:.2f}   (medians of the runs)")
        if pairs:
            r = statistics.median(pairs)
            each = " ".join(f"{x:.2f}" for x in pairs)
            print(f"ours / iperf3, paired: {r:.2f}  (median of each run's ratio: {each}; goal ≥ 0.9: {'met' if r >= 0.9 else 'NOT met'})")
        print(f"receive path on this system: {RECEIVE_PATH}")
        if ours and med.get("ours (verified)"):
            r = med["ours (verified)"] / ours
            print(f"verified / lesson:    {r:.2f}   (goal: not halved, ≥ 0.5: {'met' if r >= 0.5 else 'NOT met'})")
        print(f"server RSS idle {server_idle_kib / 1024:.1f} MiB, peak after the 1 GiB runs {server_after_kib / 1024:.1f} MiB")

        if args.big_gib > 0:
            os.remove(os.path.join(share, "one.bin"))
            make_file(os.path.join(share, "big.bin"), big)
            for mode in ("lesson", "verified"):
                dest = os.path.join(out_dir, f"big-{mode}.bin")
                cmd = [BIN, "download", f"127.0.0.1:{port}", "big.bin", "-o", dest]
                if mode == "verified":
                    cmd.append("--verify")
                took, code, peak, _ = peak_of(cmd)
                got = os.path.getsize(dest) if os.path.exists(dest) else -1
                state = "ok" if code == 0 and got == big else f"FAILED (exit {code}, {got} bytes)"
                print(f"{args.big_gib} GiB, {mode:8}: {state}, {mbps(big, took):.0f} MB/s, client peak RSS {peak / 1024:.1f} MiB")
                if os.path.exists(dest):
                    os.remove(dest)
            print(f"server peak RSS after {args.big_gib} GiB: {vm(server.pid, 'VmHWM') / 1024:.1f} MiB (idle {server_idle_kib / 1024:.1f} MiB)")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
