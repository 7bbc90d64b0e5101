#!/usr/bin/env bash
# The load generator's benchmark: `socket-workbench load` flat out against
#   - our own echo server (`socket-workbench tcp-server 127.0.0.1:0 --echo`, one mio loop), and
#   - a lesson-style threaded Python echo server (scripts/threaded_echo_server.py: a thread
#     per client, recv(1024)/sendall in a loop),
# at 100 and 1,000 clients, 64-byte messages, request/response. One line per run: clients
# connected, answers a second, round-trip p50/p95/p99/max, connect p99, errors. Loopback only;
# everything it starts is stopped on exit.
#
# Usage: bash scripts/bench-load.sh      (DURATION=10 CLIENTS="100 1000" SIZE=64 may be set)
# Needs: python3 (for the Python server and to read the JSON report).

set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-"100 1000"}
SIZE=${SIZE:-64}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v python3 >/dev/null || { echo "bench-load.sh: python3 is missing" >&2; exit 1; }
cargo build --release --quiet
BIN="$TARGET_DIR/release/socket-workbench"

# Both servers need a descriptor per client; raise the soft limit as far as the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_server NAME CMD...: starts it, sets PORT from its "listening on 127.0.0.1:PORT" line.
start_server() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>&1 &
    SERVER=$!
    PORT=""
    for _ in $(seq 100); do
        PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.out" | head -1)
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "bench-load.sh: $name did not start:" >&2
    cat "$WORK/$name.out" >&2
    exit 1
}

stop_server() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
}

printf '%-22s %7s %9s %11s %8s %8s %8s %8s %10s %s\n' \
    server clients connected answers/s p50_ms p95_ms p99_ms max_ms conn_p99 errors
for n in $CLIENTS; do
    for server in workbench python; do
        case $server in
            workbench) start_server "$server" "$BIN" tcp-server 127.0.0.1:0 --echo --backlog 1024 ;;
            python) start_server "$server" python3 scripts/threaded_echo_server.py 0 1024 ;;
        esac
        "$BIN" load "127.0.0.1:$PORT" --clients "$n" --duration "$DURATION" --size "$SIZE" --json \
            >"$WORK/load.json" 2>"$WORK/load.err" || true
        stop_server
        python3 - "$server" "$n" "$WORK/load.json" "$WORK/load.err" <<'EOF'
import json, sys
name, n, path, err = sys.argv[1:5]
lines = [l for l in open(path, encoding="utf-8") if l.strip()]
if not lines:
    print(f"{name:22} {n:>7}  no report: {open(err, encoding='utf-8').read().strip()}")
    sys.exit(0)
r = json.loads(lines[-1])
errors = ", ".join(f"{k} {v}" for k, v in r["errors_by_kind"].items()) or "none"
label = "workbench tcp-server" if name == "workbench" else "python threaded"
print(f"{label:22} {n:>7} {r['clients_connected']:>9} {r['messages_per_s']:>11.0f} "
      f"{r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} "
      f"{r['connect_p99_ms']:>10.2f} {errors}")
EOF
    done
done
