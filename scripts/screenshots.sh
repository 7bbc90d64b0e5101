#!/usr/bin/env bash
# Regenerates screenshots/*.png from the real program: starts the lesson's GBK server on
# loopback, opens Socket Workbench under Xvfb connected to it, types a few Chinese and English
# messages with xdotool, and captures the window in English and in Chinese. Then every panel
# in classroom mode at the projectors' sizes, 1024×768 and 1280×800, in both languages
# (screenshots/classroom/, and a contact sheet per size and language).
#
# Needs: xvfb, xdotool, imagemagick, python3  (apt-get install -y xvfb xdotool imagemagick)
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in Xvfb xdotool import python3; do
    command -v "$tool" >/dev/null || { echo "screenshots.sh: $tool is missing (apt-get install -y xvfb xdotool imagemagick)" >&2; exit 1; }
done

cargo build --release
BIN="$PWD/target/release/socket-workbench"
DISP=":${SCREENSHOT_DISPLAY:-91}"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

Xvfb "$DISP" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
PIDS+=($!)
export DISPLAY="$DISP"
# fresh_screen SIZE: a new X screen of that size for the next picture (a long run of windows
# on one Xvfb has been seen to take it down), on the display after $DISP.
SCREEN_PID=""
fresh_screen() {
    if [ -n "$SCREEN_PID" ]; then
        kill "$SCREEN_PID" 2>/dev/null || true
        wait "$SCREEN_PID" 2>/dev/null || true
    fi
    local d=":$(( ${DISP#:} + 1 ))"
    Xvfb "$d" -screen 0 "${1}x24" -nolisten tcp >/dev/null 2>&1 &
    SCREEN_PID=$!
    PIDS+=("$SCREEN_PID")
    export DISPLAY="$d"
    for _ in $(seq 50); do
        xdotool getdisplaygeometry >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "screenshots.sh: Xvfb did not start on $d" >&2
    exit 1
}

# port_of FILE WHAT: the port of the first "listening on 127.0.0.1:PORT" line a server writes
# to FILE, waiting up to 5 s for it.
port_of() {
    local port="" _
    for _ in $(seq 50); do
        port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$1" | head -1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        sleep 0.1
    done
    echo "screenshots.sh: $2 did not start" >&2
    exit 1
}

python3 scripts/lesson_server.py 0 >"$WORK/server.out" 2>&1 &
PIDS+=($!)
PORT=$(port_of "$WORK/server.out" "the lesson server")

# Types text one character at a time: xdotool drops CJK characters typed in a burst.
type_slowly() {
    local text=$1 i
    for ((i = 0; i < ${#text}; i++)); do
        xdotool type --delay 60 "${text:i:1}"
        sleep 0.05
    done
}

# shoot LANG NAME "FLAGS" MESSAGE...
shoot() {
    local lang=$1 name=$2 flags=$3
    shift 3
    local tag=${name//\//_}
    # A fresh home each time, so remembered settings never leak into the pictures.
    local home="$WORK/home-$tag"
    mkdir -p "$home"
    HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config" \
        "$BIN" --lang "$lang" --encoding gbk $flags >"$WORK/$tag.log" 2>&1 &
    local app=$!
    PIDS+=("$app")
    local win=""
    for _ in $(seq 100); do
        win=$(xdotool search --name "Socket Workbench" 2>/dev/null | head -1 || true)
        [ -n "$win" ] && break
        sleep 0.1
    done
    [ -n "$win" ] || { echo "screenshots.sh: no window appeared" >&2; cat "$WORK/$tag.log" >&2; exit 1; }
    sleep 1.5
    if [ -n "${BEFORE_TYPING:-}" ]; then
        eval "$BEFORE_TYPING"
    fi
    xdotool windowfocus --sync "$win"
    local height
    height=$(xdotool getwindowgeometry "$win" | sed -n 's/.*Geometry: [0-9]*x\([0-9]*\)/\1/p')
    local width
    width=$(xdotool getwindowgeometry "$win" | sed -n 's/.*Geometry: \([0-9]*\)x[0-9]*/\1/p')
    for message in "$@"; do
        # The message box sits about 120 px above the window's bottom edge; in classroom
        # mode it is the one line at the bottom, at 40 % of the width (after the server.s "to" and the UDP target).
        if [ -n "${WHOLE_SCREEN:-}" ]; then
            xdotool mousemove --window "$win" $((width * 40 / 100)) $((height - 24)) click 1
        else
            xdotool mousemove --window "$win" 600 $((height - 120)) click 1
        fi
        xdotool key ctrl+a BackSpace
        sleep 0.3
        type_slowly "$message"
        xdotool key ctrl+Return
        sleep 0.6
    done
    # The pointer out of the way: no hover, no tooltip in the picture.
    xdotool mousemove 0 "$(( $(xdotool getdisplaygeometry | cut -d' ' -f2) - 1 ))"
    sleep 0.5
    # Classroom mode fills the screen: the screen is the picture.
    if [ -n "${WHOLE_SCREEN:-}" ]; then
        import -window root "screenshots/$name.png"
    else
        import -window "$win" "screenshots/$name.png"
    fi
    kill "$app"
    wait "$app" 2>/dev/null || true
    echo "wrote screenshots/$name.png"
}

# SHOTS="server udp" regenerates only those groups (client server udp files download lesson
# lab check load bench classroom).
want() { [[ " ${SHOTS:-client server udp files download lesson lab check load bench classroom} " == *" $1 "* ]]; }
langs() { want "$1" && echo en zh || true; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mkdir -p screenshots
want client && shoot en tcp-client-en "--connect 127.0.0.1:$PORT" "你好，老师！" "Hello from Socket Workbench" "第二条消息"
want client && shoot zh tcp-client-zh "--connect 127.0.0.1:$PORT" "你好，世界！" "学生甲：收到了吗？"

# The server panel with a class of lesson-style clients connected.
for lang in $(langs server); do
    SPORT=$(free_port)
    BEFORE_TYPING="python3 scripts/lesson_clients.py $SPORT 20 >/dev/null 2>&1 & PIDS+=(\$!); sleep 2.5"
    shoot "$lang" "tcp-server-$lang" "--listen 127.0.0.1:$SPORT" "同学们好，欢迎来到网络编程课！"
done
unset BEFORE_TYPING

# The UDP panel talking to a lesson-style UDP peer (and a second one greeting it).
for lang in $(langs udp); do
    UPORT=$(free_port)
    PPORT=$(free_port)
    QPORT=$(free_port)
    python3 scripts/lesson_udp_peer.py "$PPORT" >/dev/null 2>&1 &
    PIDS+=($!)
    BEFORE_TYPING="python3 scripts/lesson_udp_peer.py $QPORT 127.0.0.1:$UPORT >/dev/null 2>&1 & PIDS+=(\$!); sleep 1"
    shoot "$lang" "udp-$lang" "--udp 127.0.0.1:$UPORT --to 127.0.0.1:$PPORT" "你好，UDP！" "datagram 2"
done
unset BEFORE_TYPING

# The file server panel sharing a small lesson folder, after a few requests (ours, a lesson-style
# Python client, a missing file and an attempt to climb out of the folder).
SHARE="$WORK/share"
mkdir -p "$SHARE/sub"
printf 'print("hello, socket")\n' >"$SHARE/hello.py"
head -c 3000000 /dev/urandom >"$SHARE/lecture-video.bin"
printf '第一课：TCP 三次握手\n' >"$SHARE/课程笔记.txt"
printf 'answers\n' >"$SHARE/sub/homework.txt"
for lang in $(langs files); do
    FPORT=$(free_port)
    BEFORE_TYPING="( cd $WORK && $BIN download 127.0.0.1:$FPORT lecture-video.bin --verify -o $WORK/v-$lang.bin; \
        $BIN download 127.0.0.1:$FPORT hello.py -o $WORK/h-$lang.py; \
        $BIN download 127.0.0.1:$FPORT 课程笔记.txt -o $WORK/n-$lang.txt; \
        $BIN download 127.0.0.1:$FPORT missing.doc -o $WORK/m-$lang.doc; \
        $BIN download 127.0.0.1:$FPORT ../../etc/passwd -o $WORK/p-$lang; \
        $BIN download 127.0.0.1:$FPORT sub/homework.txt --verify -o $WORK/s-$lang.txt ) >/dev/null 2>&1 || true; sleep 0.5"
    shoot "$lang" "file-server-$lang" "--serve $SHARE --listen 127.0.0.1:$FPORT"
done
unset BEFORE_TYPING

# The download panel: two files from a lesson file server, and one that is missing.
if want download; then
    "$BIN" serve-files "$SHARE" --listen 127.0.0.1:0 >"$WORK/dlserver.out" 2>&1 &
    PIDS+=($!)
    DLPORT=$(port_of "$WORK/dlserver.out" "the file server")
    BEFORE_TYPING="sleep 2"
    shoot en "download-en" "--download 127.0.0.1:$DLPORT --file lecture-video.bin --file sub/homework.txt --file missing.doc"
    unset BEFORE_TYPING
fi

# The Lesson panel: a scenario played out with its diagram (the handshake and four-way close
# in English, the abortive close in Chinese).
if want lesson; then
    BEFORE_TYPING="sleep 2"
    shoot en "lesson-en" "--lesson handshake"
    shoot zh "lesson-zh" "--lesson abortive"
    unset BEFORE_TYPING
fi

# The Lab panel in Chinese: three scenarios played out at their own speed (the handshake,
# retransmission on timeout, congestion control with its chart).
if want lab; then
    BEFORE_TYPING='sleep $LAB_WAIT'
    LAB_WAIT=2 shoot zh "lab-handshake-zh" "--lab handshake"
    LAB_WAIT=8 shoot zh "lab-timeout-zh" "--lab timeout-retransmit"
    LAB_WAIT=9 shoot zh "lab-congestion-zh" "--lab congestion"
    unset BEFORE_TYPING
fi

# The lesson's one-client server: one accept(), then that client's recv() loop.
cat >"$WORK/one_client_server.py" <<'EOF'
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
print("listening on %s:%d" % s.getsockname(), flush=True)
conn, addr = s.accept()
while True:
    data = conn.recv(1024)
    if not data:
        break
    conn.sendall(data)
conn.close()
time.sleep(600)
EOF

# The Check panel in Chinese grading the lesson's one-client server: 30 clients at once,
# every check's verdict with its evidence.
if want check; then
    python3 "$WORK/one_client_server.py" >"$WORK/one.out" 2>&1 &
    PIDS+=($!)
    OPORT=$(port_of "$WORK/one.out" "the one-client server")
    # Every check waits out its 2 s timeouts against this server: about 25 s in all.
    BEFORE_TYPING='sleep 28'
    shoot zh "check-zh" "--check 127.0.0.1:$OPORT"
    unset BEFORE_TYPING
fi

# A 1,000-client load run against our own echo server: live plots, then the report.
if want load; then
    "$BIN" tcp-server 127.0.0.1:0 --echo --backlog 1024 >"$WORK/echo.out" 2>&1 &
    PIDS+=($!)
    EPORT=$(port_of "$WORK/echo.out" "the echo server")
    BEFORE_TYPING='sleep 12'
    shoot en "load-en" "--load 127.0.0.1:$EPORT --clients 1000"
    unset BEFORE_TYPING
fi

# The protocol bench against a server whose replies TCP merges and splits: a lab sheet's
# payloads sent by F1–F3, the log cut into lines (three messages in one recv(), one message
# over two), reply times, and a conversation run; then the library's menu.
if want bench; then
    python3 scripts/sticky_server.py 0 >"$WORK/sticky.out" 2>&1 &
    PIDS+=($!)
    BPORT=$(port_of "$WORK/sticky.out" "the sticky server")
    cat >"$WORK/lab3.toml" <<'EOF'
version = 1

[[group]]
name = "Lab 3"

[[group.payload]]
name = "three lines"
text = "LIST"
eol = "lf"
note = "the server answers with three lines in one send()"

[[group.payload]]
name = "one long line"
text = "BIG"
eol = "lf"
note = "the server answers with one line in two send()s"

[[group.payload]]
name = "ping"
text = "PING {counter}"
eol = "lf"
EOF
    cat >"$WORK/conv.toml" <<'EOF'
# Ask for the list, take the last item's number, ping with it.
frame = "line"
timeout_ms = 2000

[[step]]
send = "LIST\n"

[[step]]
expect = "item 1"

[[step]]
expect_regex = 'item (?P<last>\d+)'
strict = true

[[step]]
expect_regex = 'item (?P<last>\d+)'

[[step]]
send = "PING {last}\n"

[[step]]
expect = "PONG 3"
EOF
    fresh_screen 1280x800
    FKEYS='xdotool windowfocus --sync "$win"; xdotool mousemove --window "$win" 670 360 click 1; for k in F1 F2 F3; do xdotool key $k; sleep 0.6; done'
    BENCH_FLAGS="--connect 127.0.0.1:$BPORT --frame line --payloads $WORK/lab3.toml --script $WORK/conv.toml"
    # Where Run and the Library menu are in each language (window-relative).
    BEFORE_TYPING="$FKEYS; xdotool mousemove --window \"\$win\" 119 132 click 1; sleep 1.5"
    shoot en "bench-en" "$BENCH_FLAGS"
    BEFORE_TYPING="$FKEYS; xdotool mousemove --window \"\$win\" 97 132 click 1; sleep 1.5"
    shoot zh "bench-zh" "$BENCH_FLAGS"
    BEFORE_TYPING="$FKEYS; xdotool mousemove --window \"\$win\" 305 551 click 1; sleep 0.8"
    shoot en "library-en" "$BENCH_FLAGS"
    BEFORE_TYPING="$FKEYS; xdotool mousemove --window \"\$win\" 274 551 click 1; sleep 0.8"
    shoot zh "library-zh" "$BENCH_FLAGS"
    unset BEFORE_TYPING
    export DISPLAY="$DISP"
fi

# Every panel in classroom mode, at 1024×768 and 1280×800, in both languages, each with what
# a class looks at: a conversation, a class of 30, requests, downloads, a lesson's diagram,
# the lab's congestion chart, a finished check. Then one contact sheet per size and language.
if want classroom; then
    mkdir -p screenshots/classroom
    CPORT=$(free_port)
    python3 scripts/lesson_server.py "$CPORT" >"$WORK/cserver.out" 2>&1 &
    PIDS+=($!)
    "$BIN" serve-files "$SHARE" --listen "127.0.0.1:0" >"$WORK/cfiles.out" 2>&1 &
    PIDS+=($!)
    DPORT=$(port_of "$WORK/cfiles.out" "the file server")
    # The check's server: the lesson's one-client server (each check waits out its 2 s
    # timeouts: about 25 s in all).
    python3 "$WORK/one_client_server.py" >"$WORK/cone.out" 2>&1 &
    PIDS+=($!)
    COPORT=$(port_of "$WORK/cone.out" "the one-client server")
    for size in 1024x768 1280x800; do
        for lang in en zh; do
            base="classroom/$size-$lang"
            export WHOLE_SCREEN=1
            fresh_screen "$size"
            shoot "$lang" "$base-1-client" "--classroom --connect 127.0.0.1:$CPORT" "你好，老师！" "第二条消息"
            SPORT=$(free_port)
            BEFORE_TYPING="python3 scripts/lesson_clients.py $SPORT 40 127.0.0.1 30 >/dev/null 2>&1 & PIDS+=(\$!); sleep 5"
            fresh_screen "$size"
            shoot "$lang" "$base-2-server" "--classroom --listen 0.0.0.0:$SPORT" "同学们好！"
            UPORT=$(free_port)
            PPORT=$(free_port)
            QPORT=$(free_port)
            python3 scripts/lesson_udp_peer.py "$PPORT" >/dev/null 2>&1 &
            PIDS+=($!)
            BEFORE_TYPING="python3 scripts/lesson_udp_peer.py $QPORT 127.0.0.1:$UPORT >/dev/null 2>&1 & PIDS+=(\$!); sleep 1"
            fresh_screen "$size"
            shoot "$lang" "$base-3-udp" "--classroom --udp 127.0.0.1:$UPORT --to 127.0.0.1:$PPORT" "你好，UDP！"
            FPORT=$(free_port)
            BEFORE_TYPING="( cd $WORK && for f in hello.py 课程笔记.txt missing.doc ../../etc/passwd lecture-video.bin sub/homework.txt hello.py; do \
                $BIN download 127.0.0.1:$FPORT \$f -o $WORK/c-$lang-\$RANDOM; done ) >/dev/null 2>&1 || true; sleep 0.5"
            fresh_screen "$size"
            shoot "$lang" "$base-4-files" "--classroom --serve $SHARE --listen 127.0.0.1:$FPORT"
            BEFORE_TYPING="sleep 2"
            fresh_screen "$size"
            shoot "$lang" "$base-5-download" \
                "--classroom --download 127.0.0.1:$DPORT --file lecture-video.bin --file hello.py --file 课程笔记.txt --file missing.doc"
            BEFORE_TYPING="sleep 2"
            fresh_screen "$size"
            shoot "$lang" "$base-6-lesson" "--classroom --lesson handshake"
            BEFORE_TYPING="sleep 9"
            fresh_screen "$size"
            shoot "$lang" "$base-7-lab" "--classroom --lab congestion"
            BEFORE_TYPING="sleep 28"
            fresh_screen "$size"
            shoot "$lang" "$base-8-check" "--classroom --check 127.0.0.1:$COPORT --clients 30"
            unset BEFORE_TYPING WHOLE_SCREEN
            if [ "$size" = 1024x768 ]; then tile=512x384; else tile=512x320; fi
            montage screenshots/$base-*.png -tile 4x2 -geometry "$tile+6+6" -background '#888' \
                "screenshots/classroom-$size-$lang.png"
            echo "wrote screenshots/classroom-$size-$lang.png"
        done
    done
    export DISPLAY="$DISP"
    kill "$SCREEN_PID" 2>/dev/null || true
fi
