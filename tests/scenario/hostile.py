#!/usr/bin/env python3
"""hostile.py: hostile SMTP clients against sluice's server, for the scenario tests (stdlib).

  hostile.py [--server IP:PORT] idle N --ready FILE --hold FILE [--per-source K]
      opens N connections (with --per-source, K from each source address 127.2.X.Y, so
      that a per-address connection limit does not refuse them) that read the greeting and then send nothing; creates --ready once
      all N are open (exit 1 if one is refused or not greeted with 220), keeps them open
      until --hold no longer exists, then closes them. Prints "idle: N open".
  hostile.py [--server IP:PORT] noread --ready FILE --hold FILE [--mbytes M]
      one client that sends M MB of pipelined NOOPs and never reads a reply; creates
      --ready when the server stopped reading (its writes block for 2 s) or all is sent,
      then holds the connection like idle. Prints how much the server took.
  hostile.py [--server IP:PORT] checks --max-size N --rcpt DOMAIN
      a series of sessions, each checking the reply codes of one abuse: over-long lines,
      a command ended by a bare LF (521 and close), NUL bytes, commands out of sequence, more than --max-rcpts recipients, messages
      over SIZE, an SMTP smuggling attempt ("\\n.\\n" inside the content), too many errors.
      Prints one line per check ("ok NAME" or "FAIL NAME: got X, want Y"); exit 1 if any
      failed. Messages it gets accepted go to recipients at --rcpt DOMAIN: "smuggle-*@DOMAIN"
      (the smuggling check); a test asserts that "smuggled@DOMAIN" never arrives.
"""
import argparse
import os
import re
import socket
import sys
import time


class Smtp:
    """A raw SMTP client: exact bytes out, replies parsed as they come."""

    def __init__(self, server, timeout=20, source=None):
        host, _, port = server.rpartition(":")
        self.s = socket.create_connection((host, int(port)), timeout=timeout,
                                          source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode("latin-1"))

    def reply(self):
        """One whole (multi-line) reply: (code, text of the last line); (0, '') at EOF."""
        while True:
            m = re.search(rb"(?m)^(\d{3}) [^\n]*\n", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return int(m.group(1)), m.group(0).decode("latin-1").strip()
            data = self.s.recv(65536)
            if not data:
                return 0, ""
            self.buf += data

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def close(self):
        self.s.close()


class Checks:
    def __init__(self, opts):
        self.o, self.failed = opts, 0

    def expect(self, name, got, want):
        """got: (code, text); want: a regex for the whole reply line."""
        ok = re.match(want, got[1]) is not None
        print(f"ok   {name}: {got[1][:90]}" if ok else
              f"FAIL {name}: got {got[1][:120]!r}, want /{want}/")
        self.failed += 0 if ok else 1
        return ok

    def session(self):
        c = Smtp(self.o.server)
        self.expect("greeting", c.reply(), r"220 ")
        return c

    def long_lines(self):
        c = self.session()
        self.expect("EHLO", c.cmd("EHLO hostile.example"), r"250 ")
        self.expect("1001-byte command line", c.cmd("NOOP " + "x" * 994), r"500 5\.5\.2")
        self.expect("1000-byte command line (the limit)", c.cmd("NOOP " + "x" * 993), r"250 ")
        c.send("MAIL FROM:<" + "a" * 200000)
        time.sleep(0.2)
        self.expect("200 KB command line", c.cmd(">"), r"500 5\.5\.2")
        self.expect("session usable after long lines", c.cmd("NOOP"), r"250 ")
        c.close()

    def bare_lf_and_nul(self):
        c = self.session()
        c.send("EHLO hostile.example\nNOOP\r\n")
        self.expect("EHLO ended by bare LF (then closed)", c.reply(), r"521 5\.5\.2 .*bare <LF>")
        self.expect("nothing answered after the bare LF", c.reply(), r"^$")
        c.close()
        c = self.session()
        self.expect("NUL inside a command", c.cmd("NOOP\x00MAIL FROM:<x@y>"), r"5\d\d ")
        self.expect("NUL inside an address", c.cmd("MAIL FROM:<a\x00b@src.example>"), r"5\d\d ")
        self.expect("session usable after NUL", c.cmd("RSET"), r"250 ")
        c.close()

    def out_of_sequence(self):
        c = self.session()
        self.expect("MAIL before EHLO", c.cmd("MAIL FROM:<a@src.example>"), r"503 ")
        self.expect("EHLO", c.cmd("EHLO hostile.example"), r"250 ")
        self.expect("RCPT before MAIL", c.cmd("RCPT TO:<a@" + self.o.rcpt + ">"), r"503 ")
        self.expect("DATA before MAIL", c.cmd("DATA"), r"503 ")
        self.expect("MAIL", c.cmd("MAIL FROM:<a@src.example>"), r"250 ")
        self.expect("DATA before RCPT", c.cmd("DATA"), r"503 ")
        self.expect("nested MAIL", c.cmd("MAIL FROM:<b@src.example>"), r"503 ")
        self.expect("unknown verb", c.cmd("XYZZY plugh"), r"50[02] ")
        self.expect("RSET", c.cmd("RSET"), r"250 ")
        c.close()

    def too_many_rcpts(self):
        c = self.session()
        self.expect("EHLO", c.cmd("EHLO hostile.example"), r"250 ")
        self.expect("MAIL", c.cmd("MAIL FROM:<a@src.example>"), r"250 ")
        n = self.o.max_rcpts
        c.send("".join(f"RCPT TO:<r{i}@{self.o.rcpt}>\r\n" for i in range(n + 1)))
        codes = [c.reply() for _ in range(n + 1)]
        ok = sum(1 for r in codes[:n] if r[0] == 250)
        self.expect(f"first {n} RCPT", (0, f"{ok} accepted"), rf"{n} accepted")
        self.expect(f"RCPT number {n + 1}", codes[n], r"452 4\.5\.3")
        self.expect(f"RSET after {n + 1} RCPT", c.cmd("RSET"), r"250 ")
        c.close()

    def over_size(self):
        c = self.session()
        self.expect("EHLO", c.cmd("EHLO hostile.example"), r"250 ")
        big = self.o.max_size + 1
        self.expect("MAIL SIZE over the limit", c.cmd(f"MAIL FROM:<a@src.example> SIZE={big}"),
                    r"552 5\.3\.4")
        self.expect("MAIL without SIZE", c.cmd("MAIL FROM:<a@src.example>"), r"250 ")
        self.expect("RCPT", c.cmd(f"RCPT TO:<toobig@{self.o.rcpt}>"), r"250 ")
        self.expect("DATA", c.cmd("DATA"), r"354 ")
        line = "y" * 998 + "\r\n"
        c.send("Subject: too big\r\n\r\n" + line * (big // len(line) + 2))
        self.expect("content over max_message_size", c.cmd("."), r"552 5\.3\.4")
        self.expect("session usable after 552", c.cmd("NOOP"), r"250 ")
        c.close()

    def smuggling(self):
        """'\\n.\\n' inside the content must not end it (no second, smuggled message)."""
        c = self.session()
        self.expect("EHLO", c.cmd("EHLO hostile.example"), r"250 ")
        self.expect("MAIL", c.cmd("MAIL FROM:<a@src.example>"), r"250 ")
        self.expect("RCPT", c.cmd(f"RCPT TO:<smuggle-carrier@{self.o.rcpt}>"), r"250 ")
        self.expect("DATA", c.cmd("DATA"), r"354 ")
        c.send("Subject: carrier\r\n\r\nbefore\n.\nMAIL FROM:<evil@src.example>\r\n"
               f"RCPT TO:<smuggled@{self.o.rcpt}>\r\nDATA\r\nSubject: smuggled\r\n\r\n"
               "smuggled body\r\n.\r\n")
        first = c.reply()
        self.expect("end of the carrier message", first, r"(250|5\d\d) ")
        extra = []
        c.s.settimeout(1.0)
        try:
            while True:
                r = c.reply()
                if r[0] == 0:
                    break
                extra.append(r[1])
        except socket.timeout:
            pass
        self.expect("replies after the carrier (none: no smuggled commands)",
                    (0, f"{len(extra)} replies {extra[:4]}"), r"0 replies")
        c.close()

    def many_errors(self):
        c = self.session()
        c.send("".join(f"BOGUS{i}\r\n" for i in range(60)))
        last, n = (0, ""), 0
        while True:
            r = c.reply()
            if r[0] == 0:
                break
            last, n = r, n + 1
        self.expect("reply after 50 errors, then close", last, r"421 4\.7\.0")
        print(f"     ({n} replies before the close)")
        c.close()

    def run(self):
        for check in (self.long_lines, self.bare_lf_and_nul, self.out_of_sequence,
                      self.too_many_rcpts, self.over_size, self.smuggling, self.many_errors):
            try:
                check()
            except (OSError, socket.timeout) as e:
                print(f"FAIL {check.__name__}: {e!r}")
                self.failed += 1
        print(f"checks: {self.failed} failed")
        return 1 if self.failed else 0


def hold(ready, holdfile):
    open(ready, "w").close()
    while os.path.exists(holdfile):
        time.sleep(0.1)


def idle(opts):
    conns = []
    for i in range(opts.n):
        src = None
        if opts.per_source:
            k = i // opts.per_source
            src = f"127.2.{k // 250}.{k % 250 + 1}"
        c = Smtp(opts.server, timeout=30, source=src)
        conns.append(c)
    bad = 0
    for c in conns:
        if c.reply()[0] != 220:
            bad += 1
    print(f"idle: {len(conns)} open, {bad} not greeted with 220", flush=True)
    if bad:
        return 1
    hold(opts.ready, opts.hold)
    for c in conns:
        c.close()
    return 0


def noread(opts):
    c = Smtp(opts.server)
    c.s.setblocking(False)
    chunk, sent, total = b"NOOP\r\n" * 10000, 0, opts.mbytes << 20
    last_progress = time.monotonic()
    while sent < total and time.monotonic() - last_progress < 2:
        try:
            sent += c.s.send(chunk)
            last_progress = time.monotonic()
        except BlockingIOError:
            time.sleep(0.05)
    print(f"noread: sent {sent} bytes of {total} before the server stopped reading", flush=True)
    hold(opts.ready, opts.hold)
    c.close()
    return 0


def main():
    ap = argparse.ArgumentParser(prog="hostile.py")
    ap.add_argument("--server", default="127.0.0.1:2525")
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("idle")
    i.add_argument("n", type=int)
    i.add_argument("--ready", required=True)
    i.add_argument("--hold", required=True)
    i.add_argument("--per-source", type=int, default=0)
    n = sub.add_parser("noread")
    n.add_argument("--ready", required=True)
    n.add_argument("--hold", required=True)
    n.add_argument("--mbytes", type=int, default=64)
    c = sub.add_parser("checks")
    c.add_argument("--max-size", type=int, required=True)
    c.add_argument("--rcpt", required=True, help="domain of the recipients")
    c.add_argument("--max-rcpts", type=int, default=1000, help="the server's recipient limit")
    opts = ap.parse_args()
    if opts.cmd == "idle":
        sys.exit(idle(opts))
    if opts.cmd == "noread":
        sys.exit(noread(opts))
    sys.exit(Checks(opts).run())


if __name__ == "__main__":
    main()
