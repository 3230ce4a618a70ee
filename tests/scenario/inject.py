#!/usr/bin/env python3
"""inject.py: sends many messages to many domains over SMTP (stdlib smtplib).

  inject.py --server 127.0.0.1:2525 --messages N --domains d1,d2,... [options]

Message i (0-based) goes to --rcpts recipients "u<i>-<k>@<domain>" with domain
domains[i % len(domains)], from --from, with "Subject: inject <i>". Messages are spread over
--sessions parallel SMTP sessions, each sending its share over one connection (--per-conn
messages per connection, then a new one). Every MAIL/RCPT/DATA must be accepted: any other
reply is printed and the exit status is 1. Prints "sent N" at the end.
"""
import argparse
import smtplib
import sys
import threading


def session(opts, indexes, errors, sent, lock):
    """Sends the messages numbered in indexes, reconnecting every --per-conn messages."""
    host, _, port = opts.server.rpartition(":")
    smtp = None
    try:
        for n, i in enumerate(indexes):
            if smtp is None or (opts.per_conn and n % opts.per_conn == 0):
                if smtp is not None:
                    smtp.quit()
                src = (opts.bind, 0) if opts.bind else None
                smtp = smtplib.SMTP(host, int(port), local_hostname="inject.example",
                                    timeout=opts.timeout, source_address=src)
            domain = opts.domains[i % len(opts.domains)]
            rcpts = [f"u{i}-{k}@{domain}" for k in range(opts.rcpts)]
            body = (f"From: <{opts.sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: inject {i}\r\n"
                    f"Message-ID: <inject-{i}@inject.example>\r\n\r\n"
                    + "line of body text\r\n" * opts.lines)
            refused = smtp.sendmail(opts.sender, rcpts, body)
            if refused:
                raise smtplib.SMTPException(f"message {i}: refused {refused}")
            with lock:
                sent[0] += 1
        if smtp is not None:
            smtp.quit()
    except (smtplib.SMTPException, OSError) as e:
        with lock:
            errors.append(str(e))


def main():
    ap = argparse.ArgumentParser(prog="inject.py")
    ap.add_argument("--server", default="127.0.0.1:2525")
    ap.add_argument("--messages", type=int, default=1)
    ap.add_argument("--domains", required=True, help="comma-separated")
    ap.add_argument("--rcpts", type=int, default=1, help="recipients per message")
    ap.add_argument("--from", dest="sender", default="sender@src.example")
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--per-conn", type=int, default=100, help="messages per connection")
    ap.add_argument("--lines", type=int, default=5, help="body lines")
    ap.add_argument("--bind", help="source IP")
    ap.add_argument("--timeout", type=float, default=30)
    opts = ap.parse_args()
    opts.domains = [d for d in opts.domains.split(",") if d]
    shares = [list(range(s, opts.messages, opts.sessions)) for s in range(opts.sessions)]
    errors, sent, lock = [], [0], threading.Lock()
    threads = [threading.Thread(target=session, args=(opts, sh, errors, sent, lock))
               for sh in shares if sh]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        print(f"inject.py: {e}", file=sys.stderr)
    print(f"sent {sent[0]}")
    sys.exit(1 if errors or sent[0] != opts.messages else 0)


if __name__ == "__main__":
    main()
