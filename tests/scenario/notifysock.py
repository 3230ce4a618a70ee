#!/usr/bin/env python3
"""notifysock.py: a service manager's notification socket, for tests of sd_notify(3).

    notifysock.py SOCKET LOG [--probe HOST:PORT]

Binds a unix datagram socket at SOCKET (the daemon's $NOTIFY_SOCKET) and appends one line
per assignment of every datagram to LOG, flushed at once:

    SEQ<TAB>MS<TAB>KEY=VALUE

SEQ numbers the datagrams from 1, MS is the monotonic time of arrival in milliseconds.
With --probe, a datagram holding READY=1 is followed at once by a TCP connect to HOST:PORT,
logged as "SEQ<TAB>MS<TAB>probe=ok" or "probe=refused": was the daemon listening when it
said it was ready? Runs until killed. Standard library only."""
import argparse
import os
import socket
import time


def probe(target):
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return "ok"
    except OSError:
        return "refused"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("log")
    ap.add_argument("--probe")
    a = ap.parse_args()
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.socket)
    os.chmod(a.socket, 0o666)  # the daemon sends after it dropped privileges
    seq = 0
    with open(a.log, "a", buffering=1) as log:
        while True:
            data = s.recv(65536)
            seq += 1
            ms = time.monotonic_ns() // 1000000
            lines = data.decode("utf-8", "replace").split("\n")
            for line in lines:
                if line:
                    log.write(f"{seq}\t{ms}\t{line}\n")
            if a.probe and "READY=1" in lines:
                log.write(f"{seq}\t{ms}\tprobe={probe(a.probe)}\n")


if __name__ == "__main__":
    main()
