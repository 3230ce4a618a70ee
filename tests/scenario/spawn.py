#!/usr/bin/env python3
"""spawn.py: what Postfix's spawn(8) does for a policy server such as policyd-spf: listens
on IP:PORT and runs COMMAND once per connection with the connection as its stdin and stdout.

    spawn.py --listen 127.0.0.1:10024 [--ready FILE] -- COMMAND [ARGS...]
"""
import argparse
import os
import socket
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--ready")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    host, port = a.listen.rsplit(":", 1)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(16)
    if a.ready:
        open(a.ready, "w").close()
    while True:
        conn, _ = srv.accept()
        subprocess.Popen(cmd, stdin=conn.fileno(), stdout=conn.fileno(), stderr=sys.stderr,
                         close_fds=True)
        conn.close()
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


if __name__ == "__main__":
    main()
