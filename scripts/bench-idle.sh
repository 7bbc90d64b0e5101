#!/usr/bin/env bash
# Idle CPU and memory of the workbench window, against a bare eframe window as a yardstick.
#
# Builds both --release, starts Xvfb :97 if DISPLAY is not set, then runs each program in
# turn: waits for start-up, samples utime+stime from /proc/PID/stat over an idle period
# (egui repaints only on events, so this should be ~0) and VmRSS from /proc/PID/status.
# Everything it starts is killed on exit. Needs Xvfb (apt-get install -y xvfb) when headless.
#
# Usage: bash scripts/bench-idle.sh        (STARTUP_SECS and IDLE_SECS may be overridden)

set -euo pipefail
cd "$(dirname "$0")/.."

STARTUP_SECS=${STARTUP_SECS:-5}
IDLE_SECS=${IDLE_SECS:-10}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --bin socket-workbench --example bare_window

if [[ -z "${DISPLAY:-}" ]]; then
    if ! command -v Xvfb >/dev/null; then
        echo "DISPLAY is not set and Xvfb is missing (apt-get install -y xvfb)" >&2
        exit 1
    fi
    Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
    PIDS+=("$!")
    xvfb_pid=$!
    for _ in $(seq 50); do
        [[ -S /tmp/.X11-unix/X97 ]] && break
        if ! kill -0 "$xvfb_pid" 2>/dev/null; then
            echo "Xvfb :97 did not start:" >&2
            cat "$WORK/xvfb.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    export DISPLAY=:97
    echo "started Xvfb on $DISPLAY (pid $xvfb_pid)"
fi

TICKS=$(getconf CLK_TCK)

# utime+stime in clock ticks, all threads (fields 14 and 15; comm may contain spaces).
cpu_ticks() {
    sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

declare -A IDLE_CPU START_CPU RSS
measure() {
    local name=$1 bin=$2 pid t0 t1
    # A fresh settings directory, so the run neither reads nor writes the user's settings.
    mkdir -p "$WORK/data-$name"
    XDG_DATA_HOME="$WORK/data-$name" "$bin" >"$WORK/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    sleep "$STARTUP_SECS"
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "$name exited during start-up:" >&2
        cat "$WORK/$name.log" >&2
        exit 1
    fi
    t0=$(cpu_ticks "$pid")
    sleep "$IDLE_SECS"
    t1=$(cpu_ticks "$pid")
    RSS[$name]=$(rss_kib "$pid")
    START_CPU[$name]=$(awk -v t="$t0" -v hz="$TICKS" 'BEGIN { printf "%.2f", t / hz }')
    IDLE_CPU[$name]=$(awk -v d="$((t1 - t0))" -v hz="$TICKS" 'BEGIN { printf "%.2f", d / hz }')
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

measure socket-workbench "$TARGET_DIR/release/socket-workbench"
measure bare_window "$TARGET_DIR/release/examples/bare_window"

echo
printf '%-18s | %-22s | %-18s | %s\n' program "idle CPU over ${IDLE_SECS} s" "start-up CPU" "RSS MiB"
printf '%s\n' "-------------------+------------------------+--------------------+---------"
for name in socket-workbench bare_window; do
    printf '%-18s | %-22s | %-18s | %.1f\n' "$name" "${IDLE_CPU[$name]} s" \
        "${START_CPU[$name]} s" "$(awk -v k="${RSS[$name]}" 'BEGIN { print k / 1024 }')"
done
awk -v a="${RSS[socket-workbench]}" -v b="${RSS[bare_window]}" \
    'BEGIN { printf "RSS difference (workbench - bare): %.1f MiB\n", (a - b) / 1024 }'
echo "(CPU from /proc/PID/stat utime+stime, ${TICKS} ticks/s; start-up CPU = used in the"
echo " first ${STARTUP_SECS} s; RSS = VmRSS at the end of the idle period)"
