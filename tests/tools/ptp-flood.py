#!/usr/bin/env python3
"""A hostile sender for the flood tests: mutated PTP messages over UDP at a fixed rate.

Frames are PTPv2 templates (Delay_Req, Announce, Sync, Follow_Up, Pdelay_Req, a Signaling
REQUEST, a management GET) with random octets flipped, truncated or extended, plus pure
garbage (Announces always claim a worse clock than a grandmaster's: priority1 255,
class 248); a fixed seed makes every run send the same frames. Each millisecond it sends its
share to every destination port in turn, then sleeps to the next millisecond.

  ptp-flood.py --dst 10.1.0.1 --ports 319,320 --rate 50000 --seconds 12 [--seed 1]

Prints `sent N frames in T s (R/s)` at the end.
"""

import argparse
import random
import socket
import struct
import time


def header(msg_type, length, seq, flags=0, control=5, log=0x7F):
    # transportSpecific 0 | messageType, versionPTP 2 (minor 1), messageLength, domain 0,
    # minorSdoId 0, flags, correction 0, typeSpecific 0, sourcePortIdentity, sequenceId,
    # controlField, logMessageInterval.
    ident = bytes([0x02, 0x00, 0x00, 0xFF, 0xFE, 0x66, 0x66, seq & 0xFF]) + b"\x00\x01"
    return (
        struct.pack(">BBHBBH", msg_type, 0x12, length, 0, 0, flags)
        + bytes(8)
        + bytes(4)
        + ident
        + struct.pack(">HBB", seq, control, log)
    )


def templates():
    ts = bytes(10)
    t = []
    t.append(header(0x1, 44, 1, control=1) + ts)  # Delay_Req
    t.append(header(0x0, 44, 2, control=0) + ts)  # Sync
    t.append(header(0x8, 44, 3, control=2) + ts)  # Follow_Up
    t.append(header(0x2, 54, 4, control=5) + ts + bytes(10))  # Pdelay_Req
    # A worse clock than any grandmaster (priority1 255, class 248): garbage, not a spoofed
    # better master (that is a different attack, with different defences: master-only,
    # require-auth, and the Announce-interval clamp).
    announce = ts + struct.pack(">hBBBBHB", 37, 0, 255, 248, 0xFE, 0xFFFF, 255)
    announce += bytes([0x02, 0, 0, 0xFF, 0xFE, 0x66, 0x66, 1]) + struct.pack(">HB", 0, 0x20)
    t.append(header(0xB, 34 + len(announce), 5, control=5, log=1) + announce)
    req = struct.pack(">HHBbI", 0x0004, 6, 0x00, 0, 300)  # REQUEST_UNICAST_TRANSMISSION Sync
    sig = b"\xff" * 10 + req
    t.append(header(0xC, 34 + len(sig), 6, flags=0x0400) + sig)
    mgmt = b"\xff" * 10 + bytes([0, 0, 1, 0]) + struct.pack(">HHH", 0x0001, 2, 0x2000)
    t.append(header(0xD, 34 + len(mgmt), 7, control=4) + mgmt)
    return t


def mutate(rng, tpl):
    f = bytearray(tpl)
    kind = rng.randrange(6)
    if kind == 0:  # pure garbage
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
    for _ in range(rng.randrange(1, 5)):  # a few octets changed
        f[rng.randrange(len(f))] = rng.randrange(256)
    if kind == 1:  # truncated
        f = f[: rng.randrange(1, len(f))]
    elif kind == 2:  # extended with a hostile TLV (length past the end, or huge)
        f += struct.pack(">HH", rng.choice([0x0003, 0x8009, 0x0001, 0x2000]), rng.choice([4, 0xFFFF, 1]))
        f += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 16)))
    elif kind == 3:  # lying messageLength
        f[2:4] = struct.pack(">H", rng.choice([0, 1, 33, 34, 0xFFFF, len(f) + 100]))
    if len(f) > 48 and f[0] & 0x0F == 0xB:
        f[47], f[48] = 255, 248  # mutated Announces stay worse clocks
    return bytes(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--ports", default="319,320")
    ap.add_argument("--rate", type=int, default=50000, help="frames per second, all ports")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tpls = templates()
    frames = [mutate(rng, rng.choice(tpls)) for _ in range(8192)]
    ports = [int(p) for p in a.ports.split(",")]
    family = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    dests = [(a.dst, p) for p in ports]
    per_ms = a.rate / 1000.0
    sent = 0
    owed = 0.0
    i = 0
    start = time.perf_counter()
    tick = start
    end = start + a.seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        owed += per_ms
        n = int(owed)
        owed -= n
        for _ in range(n):
            try:
                s.sendto(frames[i & 8191], dests[i % len(dests)])
                sent += 1
            except OSError:
                pass  # a full queue: the frame is lost, as on a real network
            i += 1
        tick += 0.001
        delay = tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.05:
            tick = time.perf_counter()  # fell behind (preempted): do not burst to catch up
    took = time.perf_counter() - start
    print(f"sent {sent} frames in {took:.2f} s ({sent / took:.0f}/s)", flush=True)


if __name__ == "__main__":
    main()
