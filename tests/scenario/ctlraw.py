#!/usr/bin/env python3
"""ctlraw.py: speaks sluice's control protocol raw (docs/admin.md), for the tests of what
`sluice ctl` never sends: requests without auth, oversized or malformed lines, bursts.

  ctlraw.py unix PATH LINE...     sends each LINE, prints each reply (status + body lines)
  ctlraw.py tcp HOST:PORT LINE...
  ctlraw.py load unix PATH --rate N --seconds S --out FILE LINE...
        sends the LINEs round robin at N requests a second for S seconds over a few
        connections; writes "sent=N ok=N err=N bad=N max_ms=F" to FILE.
A LINE is sent as given plus LF ("\\xNN" escapes allowed); "@SIZE:N" sends N bytes of 'x'.
"""
import socket
import sys
import time


def connect(kind, where):
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(where)
    else:
        host, port = where.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(20)
    return s.makefile("rwb", buffering=0), s


def encode(line):
    if line.startswith("@SIZE:"):
        return b"x" * int(line[6:]) + b"\n"
    return line.encode("latin-1").decode("unicode_escape").encode("latin-1") + b"\n"


def reply(f):
    """Reads one reply: the status line and the body lines up to '.'; None at EOF."""
    status = f.readline()
    if not status:
        return None
    lines = [status.decode("latin-1").rstrip("\n")]
    while True:
        line = f.readline()
        if not line:
            break
        line = line.decode("latin-1").rstrip("\n")
        if line == ".":
            break
        lines.append(line[1:] if line.startswith(".") else line)
    return lines


def talk(kind, where, lines):
    f, s = connect(kind, where)
    for line in lines:
        try:
            s.sendall(encode(line))
        except OSError as e:
            print(f"SEND-ERROR {e}")
            break
        r = reply(f)
        if r is None:
            print("EOF")
            break
        print("\n".join(r))
    s.close()


def load(kind, where, rate, seconds, out, lines):
    conns = [connect(kind, where) for _ in range(4)]
    sent = ok = err = bad = 0
    worst = 0.0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        f, s = conns[sent % len(conns)]
        t0 = time.monotonic()
        s.sendall(encode(lines[sent % len(lines)]))
        r = reply(f)
        worst = max(worst, time.monotonic() - t0)
        sent += 1
        if r is None:
            bad += 1
            break
        if r[0].startswith("OK"):
            ok += 1
        elif r[0].startswith("ERR"):
            err += 1
        else:
            bad += 1
        due = start + sent / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    with open(out, "w") as o:
        o.write(f"sent={sent} ok={ok} err={err} bad={bad} max_ms={worst * 1000:.1f} "
                f"elapsed={time.monotonic() - start:.2f}\n")


def main():
    a = sys.argv[1:]
    if a[0] == "load":
        kind, where = a[1], a[2]
        rate = float(a[a.index("--rate") + 1])
        seconds = float(a[a.index("--seconds") + 1])
        out = a[a.index("--out") + 1]
        rest = a[a.index("--out") + 2:]
        load(kind, where, rate, seconds, out, rest)
    else:
        talk(a[0], a[1], a[2:])


main()
