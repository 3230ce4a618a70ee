#!/usr/bin/env python3
"""smtptry.py: tries to send messages and reports each reply that decided it (stdlib).

  smtptry.py --server IP:PORT --count N --size BYTES --rcpt ADDR [--tag TEXT]

Sends N messages of about BYTES bytes to ADDR, one session each, without failing on any
reply. Prints one line per message: "TAG-i accepted REPLY" when the end of data got 2xx,
else "TAG-i refused STAGE REPLY" with the first reply that was not 2xx/354 (STAGE is
greeting, ehlo, mail, rcpt, data or dot), or "TAG-i error TEXT" when the connection failed.
Message i carries "Subject: TAG-i". Exit status 0 always (the test judges the lines).
"""
import argparse
import re
import socket


def reply(f):
    """Reads one whole reply from a file object: its last line, stripped ('' at EOF)."""
    while True:
        line = f.readline()
        if not line:
            return ""
        text = line.decode("latin-1").rstrip("\r\n")
        if not re.match(r"^\d{3}-", text):
            return text


def one(opts, tag):
    host, _, port = opts.server.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        f = s.makefile("rb")
        steps = [("greeting", None, "2"), ("ehlo", "EHLO try.example", "2"),
                 ("mail", "MAIL FROM:<try@src.example>", "2"), ("rcpt", f"RCPT TO:<{opts.rcpt}>", "2"),
                 ("data", "DATA", "3")]
        for stage, cmd, want in steps:
            if cmd:
                s.sendall(cmd.encode() + b"\r\n")
            r = reply(f)
            if not r.startswith(want):
                return f"refused {stage} {r}"
        line = "z" * 78 + "\r\n"
        body = f"Subject: {tag}\r\nX-Try: {tag}\r\n\r\n" + line * max(1, opts.size // len(line))
        s.sendall(body.encode() + b".\r\n")
        r = reply(f)
        s.sendall(b"QUIT\r\n")
        return f"accepted {r}" if r.startswith("2") else f"refused dot {r}"


def main():
    ap = argparse.ArgumentParser(prog="smtptry.py")
    ap.add_argument("--server", default="127.0.0.1:2525")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--tag", default="try")
    opts = ap.parse_args()
    for i in range(opts.count):
        tag = f"{opts.tag}-{i}"
        try:
            print(f"{tag} {one(opts, tag)}", flush=True)
        except OSError as e:
            print(f"{tag} error {e}", flush=True)


if __name__ == "__main__":
    main()
