#!/usr/bin/env python3
"""The Windows build's command line against lesson-style Python peers, on loopback, under Wine.

    python3 scripts/windows_smoke.py WINE EXE

Run by scripts/windows-smoke.sh (which builds the .exe and prepares Wine). Every check starts
its own peers on 127.0.0.1 with port 0, has a time limit, and kills what it started. Prints
one line per check and ends with "N passed, M failed"; the exit code is 1 if any failed.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

WINE, EXE = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
results = []


class Skip(Exception):
    """A check whose subject Wine cannot show (said, never counted as passed)."""


def exe(*args, timeout=60, stdin=None):
    """Runs the .exe to completion; (exit code, stdout, stderr) as text."""
    p = subprocess.run(
        [WINE, EXE, *args],
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
    )
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def start_exe(*args):
    """Starts the .exe; returns the process and its first stdout line (e.g. 'listening on ...')."""
    p = subprocess.Popen([WINE, EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = read_line(p, 60)
    return p, first


def read_line(p, timeout):
    box = []
    t = threading.Thread(target=lambda: box.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0].decode("utf-8", "replace").strip() if box else ""


def start_py(script, *args):
    p = subprocess.Popen(
        [sys.executable, script, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return p, read_line(p, 20)


def port_of(line):
    m = re.search(r":(\d+)\s*$", line)
    if not m:
        raise AssertionError("no port in %r" % line)
    return int(m.group(1))


def stop(p):
    if p.poll() is None:
        p.kill()
    try:
        p.communicate(timeout=20)
    except Exception:
        pass


def check(name):
    def wrap(f):
        start = time.time()
        try:
            detail = f() or ""
            results.append((name, True, detail))
            print("ok    %s  (%.1f s) %s" % (name, time.time() - start, detail), flush=True)
        except Skip as e:
            results.append((name, None, str(e)))
            print("skip  %s: %s" % (name, e), flush=True)
        except Exception as e:  # report and go on with the next check
            results.append((name, False, str(e)))
            print("FAIL  %s: %s" % (name, e), flush=True)
        return f

    return wrap


@check("tcp-client against the lesson's GBK server")
def _():
    server, line = start_py(os.path.join(HERE, "lesson_server.py"), 0)
    try:
        port = port_of(line)
        code, out, err = exe(
            "tcp-client", "127.0.0.1:%d" % port, "--send", "你好", "--encoding", "gbk",
            "--trace", "--wait", "1",
        )
        assert code == 0, "exit %s: %s" % (code, err)
        assert "欢迎！你已连接到课堂服务器。" in out, out
        assert "服务器收到：你好" in out, out
        assert "socket(AF_INET, SOCK_STREAM)" in err and "connect(127.0.0.1:%d)" % port in err, err
        return "GBK both ways; trace has socket() and connect()"
    finally:
        stop(server)


@check("tcp-client: a refused connection is a plain error")
def _():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code, out, err = exe("tcp-client", "127.0.0.1:%d" % port, "--timeout", "5")
    assert code == 1, "exit %s: %s" % (code, err)
    assert "refused" in err.lower(), err
    return err.strip().splitlines()[-1]


@check("tcp-server --echo against 50 Python clients x 20 messages")
def _():
    server, line = start_exe("tcp-server", "127.0.0.1:0", "--echo")
    try:
        assert line.startswith("listening on 127.0.0.1:"), line
        port = port_of(line)
        failures = []

        def client(n):
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=20)
                for m in range(20):
                    msg = ("学生%d 第%d条\n" % (n, m)).encode("gbk")
                    c.sendall(msg)
                    got = b""
                    while len(got) < len(msg):
                        chunk = c.recv(1024)
                        if not chunk:
                            raise AssertionError("closed early")
                        got += chunk
                    if got != msg:
                        raise AssertionError("echo %r != %r" % (got, msg))
                c.close()
            except Exception as e:
                failures.append("client %d: %s" % (n, e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not failures, "; ".join(failures[:5])
        return "1000 round trips echoed byte-exact"
    finally:
        stop(server)


@check("udp --echo answers datagrams, one per datagram")
def _():
    udp, line = start_exe("udp", "127.0.0.1:0", "--echo")
    try:
        assert line.startswith("bound to 127.0.0.1:"), line
        port = port_of(line)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        for m in range(10):
            msg = ("数据报%d" % m).encode("gbk")
            s.sendto(msg, ("127.0.0.1", port))
            got, src = s.recvfrom(2048)
            assert got == msg and src[1] == port, (got, src)
        s.close()
        return "10 datagrams echoed"
    finally:
        stop(udp)


@check("udp to a closed port: 'nobody is listening', and the socket lives on")
def _():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    udp, line = start_exe("udp", "127.0.0.1:0", "--to", "127.0.0.1:%d" % dead, "--send", "x",
                          "--wait", "3", "--echo")
    try:
        port = port_of(line)
        # The socket must still receive after the datagram to the dead port.
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.settimeout(5)
        time.sleep(0.5)
        peer.sendto(b"still there?", ("127.0.0.1", port))
        got, _ = peer.recvfrom(2048)
        assert got == b"still there?", got
        peer.close()
        _, err = udp.communicate(timeout=30)
        err = err.decode("utf-8", "replace")
    finally:
        stop(udp)
    if "Nobody is listening" not in err:
        # Wine's sockets are Linux's, and Wine asks for no ICMP errors (IP_RECVERR), so the
        # WSAECONNRESET that real Windows gives never comes.
        raise Skip("the socket lives on; Wine reports no ICMP error to unconnected UDP "
                   "sockets, so Windows' WSAECONNRESET cannot be shown here")
    return "reported, and the socket still echoes"


@check("serve-files: lesson client, Chinese name, and the traversal names")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        shared = os.path.join(tmp, "shared")
        os.makedirs(os.path.join(shared, "sub"))
        with open(os.path.join(tmp, "secret.txt"), "wb") as f:
            f.write(b"TOP SECRET")
        body = os.urandom(300_000)
        with open(os.path.join(shared, "课件.bin"), "wb") as f:
            f.write(body)
        with open(os.path.join(shared, "sub", "inner.txt"), "wb") as f:
            f.write(b"inner")
        server, line = start_exe("serve-files", shared, "--listen", "127.0.0.1:0")
        try:
            assert line.startswith("listening on 127.0.0.1:"), line
            port = port_of(line)
            rest = read_line(server, 10)
            assert "\\\\?\\" not in rest, "verbatim path shown: %r" % rest
            out_dir = os.path.join(tmp, "out")
            os.makedirs(out_dir)
            for enc in ["utf-8", "gbk"]:
                p = subprocess.run(
                    [sys.executable, os.path.join(ROOT, "tests", "lesson_file_client.py"),
                     str(port), "课件.bin", "127.0.0.1", out_dir, enc],
                    capture_output=True, timeout=60,
                )
                assert p.returncode == 0, p.stdout + p.stderr
                with open(os.path.join(out_dir, "[new]课件.bin"), "rb") as f:
                    assert f.read() == body, "%s: bytes differ" % enc
            hostile = [
                "../secret.txt", "..\\secret.txt", "sub/../../secret.txt", "/etc/passwd",
                "C:\\Windows\\win.ini", "C:secret.txt", "sub\\..\\..\\secret.txt", "..",
                "CON", "nul.txt", "课件.bin:stream", "课件.bin.", "sub//inner.txt",
            ]
            leaked = []
            for name in hostile:
                c = socket.create_connection(("127.0.0.1", port), timeout=20)
                c.sendall(name.encode("utf-8"))
                got = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                c.close()
                if got:
                    leaked.append("%r -> %d bytes" % (name, len(got)))
            assert not leaked, "; ".join(leaked)
            return "300 KB byte-exact (UTF-8 and GBK names); %d hostile names refused" % len(hostile)
        finally:
            stop(server)


@check("download from the lesson's Python file server")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        body = os.urandom(1_000_000)
        with open(os.path.join(tmp, "作业.bin"), "wb") as f:
            f.write(body)
        server, line = start_py(os.path.join(ROOT, "tests", "lesson_file_server.py"), 0, "127.0.0.1", tmp)
        try:
            port = port_of(line)
            out = os.path.join(tmp, "got.bin")
            code, _, err = exe("download", "127.0.0.1:%d" % port, "作业.bin", "-o", out)
            assert code == 0, "exit %s: %s" % (code, err)
            with open(out, "rb") as f:
                assert f.read() == body, "bytes differ"
            assert not os.path.exists(out + ".part"), ".part left behind"
            code, _, err = exe("download", "127.0.0.1:%d" % port, "missing.bin", "-o",
                               os.path.join(tmp, "missing.bin"))
            assert code != 0 and not os.path.exists(os.path.join(tmp, "missing.bin")), err
            return "1 MB byte-exact; a missing file fails and leaves nothing"
        finally:
            stop(server)


@check("download: a hostile remote name stays in the folder")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "dl")
        os.makedirs(folder)
        # A server that answers any name with a few bytes.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]

        def serve():
            for _ in range(2):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                c.recv(1024)
                c.sendall(b"payload")
                c.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        code, _, err = subprocess.run(
            [WINE, EXE, "download", "127.0.0.1:%d" % port, "..\\..\\evil.txt"],
            capture_output=True, timeout=60, cwd=folder,
        ).returncode, None, None
        srv.close()
        outside = [p for p in [os.path.join(tmp, "evil.txt"), os.path.join(os.path.dirname(tmp), "evil.txt")] if os.path.exists(p)]
        assert not outside, "written outside: %s" % outside
        assert os.path.exists(os.path.join(folder, "evil.txt")), "not saved in the folder (exit %s)" % code
        return "saved as dl/evil.txt"


passed = sum(1 for _, ok, _ in results if ok is True)
failed = sum(1 for _, ok, _ in results if ok is False)
skipped = sum(1 for _, ok, _ in results if ok is None)
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
sys.exit(1 if failed else 0)
