#!/usr/bin/env python3
"""A GNSS receiver's NMEA port, played on a pseudo-terminal for the interop tests.

Usage: nmea-feeder.py PTY_PATH_FILE PAUSE_FILE LIFETIME_S

Opens a pty, writes the path of its slave end to PTY_PATH_FILE, then at every whole second
of the system clock (UTC) writes a GPRMC sentence for that second, fix valid, checksummed, as
a receiver sends it just after its PPS edge. While PAUSE_FILE exists it writes nothing (the
antenna cable pulled). Ends after LIFETIME_S seconds. Logs each sentence to stdout.
"""
import os
import sys
import time


def rmc(t):
    tm = time.gmtime(t)
    body = "GPRMC,%02d%02d%02d.00,A,5230.000,N,01320.000,E,0.0,,%02d%02d%02d,,,A" % (
        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_mday, tm.tm_mon, tm.tm_year % 100)
    x = 0
    for b in body.encode():
        x ^= b
    return "$%s*%02X\r\n" % (body, x)


def main():
    path_file, pause_file, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])
    master, slave = os.openpty()
    name = os.ttyname(slave)
    tmp = path_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(name)
    os.rename(tmp, path_file)
    print("pty", name, flush=True)
    end = time.time() + lifetime
    while time.time() < end:
        now = time.time()
        second = int(now) + 1
        time.sleep(max(0.0, second - now))
        if os.path.exists(pause_file):
            print("paused", second, flush=True)
            continue
        s = rmc(second)
        os.write(master, s.encode())
        print("%.6f %s" % (time.time(), s.strip()), flush=True)


if __name__ == "__main__":
    main()
