#!/usr/bin/env python3
"""policypeer.py: a misbehaving (or plain) Postfix policy server for the bad-input tests.

    policypeer.py --listen IP:PORT --mode MODE [--reply TEXT] [--for RCPT=TEXT ...] [--log FILE]

Reads each request (name=value lines, an empty line), logs it as one JSON line, then:
  reply    answers "action=TEXT" and an empty line (keeps the connection); with
           --for RCPT=TEXT, requests for that recipient get that TEXT instead
  hang     never answers (keeps the connection open)
  close    closes without answering
  garbage  answers binary junk and an empty line
  huge     answers one 100 000-byte line without a newline, then waits
"""
import argparse
import json
import socket
import threading


def serve(conn, a):
    f = conn.makefile("rb")
    try:
        while True:
            req = {}
            while True:
                line = f.readline()
                if not line:
                    return
                line = line.rstrip(b"\n")
                if not line:
                    break
                k, _, v = line.decode("latin-1").partition("=")
                req[k] = v
            if a.log:
                with open(a.log, "a") as lf:
                    lf.write(json.dumps(req) + "\n")
            if a.mode == "reply":
                reply = dict(f.split("=", 1) for f in a.for_).get(req.get("recipient"), a.reply)
                conn.sendall(b"action=" + reply.encode() + b"\n\n")
            elif a.mode == "hang":
                threading.Event().wait()
            elif a.mode == "close":
                return
            elif a.mode == "garbage":
                conn.sendall(b"\x00\xff\x01garbage without equals\n\n")
            elif a.mode == "huge":
                conn.sendall(b"action=DUNNO " + b"x" * 100000)
                threading.Event().wait()
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--reply", default="DUNNO")
    ap.add_argument("--for", dest="for_", action="append", default=[])
    ap.add_argument("--log")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, a), daemon=True).start()


if __name__ == "__main__":
    main()
