#!/usr/bin/env bash
# Wireshark judges the lab: every scenario's pcapng is read by tshark, and what Wireshark's
# TCP analysis finds (retransmissions, duplicate ACKs, zero windows, bad checksums) is
# compared with the lab's own record (its JSON lines). Prints a table; fails on a mismatch.
#
# Needs: tshark (apt-get install -y tshark), python3. Not part of CI (tshark is a system
# package); the pcapng reader test in tests/lab.rs checks the format and checksums there.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "lab-wireshark.sh: tshark is missing (apt-get install -y tshark)" >&2; exit 1; }
cargo build --release -q
BIN="$PWD/target/release/socket-workbench"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail=0
printf '%-20s %22s %22s %18s %18s %18s\n' scenario "retransmissions lab/ws" "duplicate ACKs lab/ws" "zero windows lab/ws" "window probes lab/ws" "bad checksums lab/ws"
for s in handshake old-duplicate-syn acks timeout-retransmit fast-retransmit checksum flow-control congestion close reorder udp-loss; do
    "$BIN" lab "$s" --json --pcap "$WORK/$s.pcapng" >"$WORK/$s.json"
    count() { tshark -r "$WORK/$s.pcapng" -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -Y "$1" 2>/dev/null | wc -l; }
    # The copy of a corrupted packet "as delivered" is a second record of the same segment:
    # Wireshark calls it a retransmission; the lab does not.
    ws_re=$(count 'tcp.analysis.retransmission and not frame.comment contains "as delivered"')
    ws_dup=$(count 'tcp.analysis.duplicate_ack')
    ws_zero=$(count 'tcp.analysis.zero_window')
    ws_probe=$(count 'tcp.analysis.zero_window_probe')
    ws_bad=$(count 'tcp.checksum.status == 0 or udp.checksum.status == 0')
    read -r lab_re lab_dup lab_zero lab_probe lab_bad < <(python3 - "$WORK/$s.json" <<'PY'
import json, sys
re = dup = zero = probe = bad = 0
last = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "dir" not in o:
        continue
    if o.get("retransmission"):
        re += 1
    if o.get("zero_window_probe"):
        probe += 1
    if o["fate"] == "corrupted":
        bad += 1
    if o.get("proto") != "tcp":
        continue
    f = o["flags"]
    if o["win"] == 0 and "SYN" not in f and "RST" not in f and "FIN" not in f:
        zero += 1
    # Wireshark's duplicate ACK: no data, no SYN/FIN/RST, same ack and window as the last
    # segment that way, while data is outstanding the other way.
    pure = o["len"] == 0 and o["win"] > 0 and not ({"SYN", "FIN", "RST"} & set(f))
    key = (o["ack"], o["win"])
    if pure and last.get(o["dir"]) == key:
        dup += 1
    last[o["dir"]] = key
print(re, dup, zero, probe, bad)
PY
)
    mark=""
    for pair in "$lab_re:$ws_re" "$lab_zero:$ws_zero" "$lab_probe:$ws_probe" "$lab_bad:$ws_bad"; do
        [ "${pair%%:*}" = "${pair##*:}" ] || { mark=" <- differs"; fail=1; }
    done
    printf '%-20s %22s %22s %18s %18s %18s%s\n' "$s" "$lab_re/$ws_re" "$lab_dup/$ws_dup" "$lab_zero/$ws_zero" "$lab_probe/$ws_probe" "$lab_bad/$ws_bad" "$mark"
done
exit $fail
