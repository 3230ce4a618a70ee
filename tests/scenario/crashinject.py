#!/usr/bin/env python3
"""crashinject.py: injects messages without end while the server is being killed (stdlib).

  crashinject.py --server IP:PORT --domains a,b --acked FILE --stop FILE [--sessions N]
  crashinject.py count --acked FILE DUMPDIR...

inject: --sessions threads each loop: connect (retrying every 20 ms while the server is
down), then send messages until the connection fails, then reconnect, until the --stop file
exists. Message number N (unique over all threads) goes to "c<N>@<domain>" (domains in
turn) and carries "X-Crash-Id: N" in its header and "crash-end N" as its last body line.
Only when the server answered 250 to the end of data is N appended to --acked (one number
per line, flushed at once); every other outcome (refused, dropped, timed out) is just a
message the client knows was not accepted. Prints "attempted N acked N" at the end.

count: reads the acked numbers and every file below the DUMPDIRs (smtp-sink -d dumps); a
dump counts as a delivery of N when it holds both "X-Crash-Id: N" and "crash-end N" (a
partial dump of a dropped transaction does not count). Prints
"acknowledged=A delivered=D duplicated=U lost=L unacked_delivered=X" where delivered counts
distinct acknowledged numbers that arrived, duplicated the extra copies of any number, lost
the acknowledged numbers that never arrived (listed on stderr), and unacked_delivered the
numbers that arrived although their 250 never reached the client (legitimate: the server
committed, then died before the reply was read). Exit status 1 when lost > 0.
"""
import argparse
import os
import re
import smtplib
import sys
import threading
import time


class Injector:
    def __init__(self, opts):
        self.o = opts
        self.lock = threading.Lock()
        self.next = 0
        self.attempted = 0
        self.acked = 0
        self.out = open(opts.acked, "a", buffering=1)

    def take(self):
        with self.lock:
            self.next += 1
            self.attempted += 1
            return self.next

    def ack(self, n):
        with self.lock:
            self.acked += 1
            self.out.write(f"{n}\n")
            self.out.flush()

    def stopped(self):
        return os.path.exists(self.o.stop)

    def connect(self):
        host, _, port = self.o.server.rpartition(":")
        while not self.stopped():
            try:
                return smtplib.SMTP(host, int(port), local_hostname="crash.example", timeout=10)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)
        return None

    def session(self):
        """Sends messages over connections until told to stop."""
        domains = self.o.domains.split(",")
        while not self.stopped():
            smtp = self.connect()
            if smtp is None:
                return
            try:
                while not self.stopped():
                    n = self.take()
                    rcpt = f"c{n}@{domains[n % len(domains)]}"
                    body = (f"From: <crash@src.example>\r\nTo: <{rcpt}>\r\nSubject: crash {n}\r\n"
                            f"X-Crash-Id: {n}\r\n\r\n" + "body line\r\n" * 20 + f"crash-end {n}\r\n")
                    smtp.sendmail("crash@src.example", [rcpt], body)
                    self.ack(n)
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                try:
                    smtp.close()
                except OSError:
                    pass
                time.sleep(0.02)

    def run(self):
        threads = [threading.Thread(target=self.session) for _ in range(self.o.sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"attempted {self.attempted} acked {self.acked}")
        return 0


def count(opts):
    acked = set()
    with open(opts.acked) as f:
        for line in f:
            if line.strip():
                acked.add(int(line))
    copies = {}
    for d in opts.dumpdirs:
        for root, _, files in os.walk(d):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    text = f.read().decode("latin-1")
                m = re.search(r"(?m)^X-Crash-Id: (\d+)\r?$", text)
                if m and re.search(rf"(?m)^crash-end {m.group(1)}\r?$", text):
                    n = int(m.group(1))
                    copies[n] = copies.get(n, 0) + 1
    delivered = sum(1 for n in acked if n in copies)
    duplicated = sum(c - 1 for c in copies.values())
    lost = sorted(n for n in acked if n not in copies)
    unacked = sum(1 for n in copies if n not in acked)
    if lost:
        print(f"lost: {' '.join(map(str, lost[:50]))}", file=sys.stderr)
    print(f"acknowledged={len(acked)} delivered={delivered} duplicated={duplicated} "
          f"lost={len(lost)} unacked_delivered={unacked}")
    return 1 if lost else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "count":
        ap = argparse.ArgumentParser(prog="crashinject.py count")
        ap.add_argument("--acked", required=True)
        ap.add_argument("dumpdirs", nargs="+")
        sys.exit(count(ap.parse_args(sys.argv[2:])))
    ap = argparse.ArgumentParser(prog="crashinject.py")
    ap.add_argument("--server", default="127.0.0.1:2525")
    ap.add_argument("--domains", required=True)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--sessions", type=int, default=4)
    sys.exit(Injector(ap.parse_args()).run())


if __name__ == "__main__":
    main()
