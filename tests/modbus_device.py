"""A Modbus-RTU-over-TCP style device, for the conversation tests (tests/conversation.rs).

Requests are RTU frames as a serial line carries them: unit, function, four bytes, and the
CRC-16/MODBUS low byte first (8 bytes). Replies are RTU frames behind a 2-byte big-endian
length, and the device sends them in random splits with pauses, as TCP may deliver them.

    python3 modbus_device.py [--bad-crc] [--seed N]

prints `listening on 127.0.0.1:PORT` and `code XXXX` (register 0, in hex), serves clients one after another until killed.
Register 0 holds a value drawn from the seed (a "session code" to capture); register n > 0
holds 1000 + n until written. Function 3 reads registers, 6 writes one. A request with a
wrong CRC gets no answer (as on a serial line); an unknown function gets exception 01.
--bad-crc answers with the CRC's low byte flipped.
"""

import random
import socket
import sys
import time


def crc16_modbus(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xA001
            else:
                crc >>= 1
    return bytes([crc & 0xFF, crc >> 8])


def main():
    bad_crc = "--bad-crc" in sys.argv
    seed = 1
    if "--seed" in sys.argv:
        seed = int(sys.argv[sys.argv.index("--seed") + 1])
    rng = random.Random(seed)
    regs = {0: rng.randrange(1, 0xFFFF)}

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    print("listening on 127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    print("code %04x" % regs[0], flush=True)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(10)
        buf = b""
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                buf += data
                while len(buf) >= 8:
                    req, buf = buf[:8], buf[8:]
                    if crc16_modbus(req[:6]) != req[6:8]:
                        print("bad request crc", req.hex(), flush=True)
                        continue
                    unit, func = req[0], req[1]
                    a = int.from_bytes(req[2:4], "big")
                    v = int.from_bytes(req[4:6], "big")
                    if func == 3:
                        count = min(v, 125)
                        body = b"".join(
                            regs.get(a + i, 1000 + a + i).to_bytes(2, "big")
                            for i in range(count)
                        )
                        pdu = bytes([unit, 3, len(body)]) + body
                    elif func == 6:
                        regs[a] = v
                        pdu = req[:6]
                    else:
                        pdu = bytes([unit, func | 0x80, 1])
                    crc = crc16_modbus(pdu)
                    if bad_crc:
                        crc = bytes([crc[0] ^ 0xFF, crc[1]])
                    frame = pdu + crc
                    reply = len(frame).to_bytes(2, "big") + frame
                    print("request", req.hex(), "reply", reply.hex(), flush=True)
                    # Random splits: TCP may deliver a message in pieces.
                    i = 0
                    while i < len(reply):
                        n = rng.randint(1, 4)
                        conn.sendall(reply[i : i + n])
                        i += n
                        time.sleep(rng.choice([0, 0, 0.005, 0.02]))
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
