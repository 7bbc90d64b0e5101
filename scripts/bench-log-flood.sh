#!/usr/bin/env bash
# The memory bomb, measured: a loopback peer sends 64 MiB of newline
# bytes to the TCP client panel, and the window's resident memory is sampled every second.
# Prints the RSS before the flood, its peak, and at the end (MiB).
#
# Needs: xvfb, python3, a release build (cargo build --release).
# Usage: scripts/bench-log-flood.sh [MIB] [BYTE]   (default 64 MiB of "\n"; BYTE as a number)
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-64}
BYTE=${2:-10}
BIN=target/release/socket-workbench
[ -x "$BIN" ] || { echo "bench-log-flood: build first: cargo build --release" >&2; exit 1; }
command -v Xvfb >/dev/null || { echo "bench-log-flood: Xvfb is missing (apt-get install -y xvfb)" >&2; exit 1; }

TMP=$(mktemp -d)
DISPLAY_NUM=:97
cleanup() {
    [ -n "${APP:-}" ] && kill "$APP" 2>/dev/null || true
    [ -n "${PEER:-}" ] && kill "$PEER" 2>/dev/null || true
    [ -n "${XVFB:-}" ] && kill "$XVFB" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

Xvfb "$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XVFB=$!
sleep 1

# The peer: listens on a port of its own choosing, waits for the go file, then floods.
python3 - "$TMP" "$MIB" "$BYTE" <<'EOF' &
import os, socket, sys, time
tmp, mib, byte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
open(os.path.join(tmp, "port"), "w").write(str(srv.getsockname()[1]))
conn, _ = srv.accept()
while not os.path.exists(os.path.join(tmp, "go")):
    time.sleep(0.1)
chunk = bytes([byte]) * (1 << 20)
for _ in range(mib):
    conn.sendall(chunk)
open(os.path.join(tmp, "sent"), "w").write("1")
time.sleep(3600)
EOF
PEER=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port")

HOME="$TMP" XDG_CONFIG_HOME="$TMP" XDG_DATA_HOME="$TMP" DISPLAY="$DISPLAY_NUM" \
    "$BIN" --lang en --connect "127.0.0.1:$PORT" >/dev/null 2>&1 &
APP=$!
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$APP/status"; }
sleep 4
BASE=$(rss)
touch "$TMP/go"
PEAK=$BASE
for i in $(seq 40); do
    sleep 1
    NOW=$(rss)
    [ "$NOW" -gt "$PEAK" ] && PEAK=$NOW
    if [ -e "$TMP/sent" ] && [ "$i" -ge 15 ]; then break; fi
done
END=$(rss)
echo "flood: $MIB MiB of byte $BYTE; window RSS before ${BASE} MiB, peak ${PEAK} MiB, end ${END} MiB"
