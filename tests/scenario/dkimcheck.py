#!/usr/bin/python3
"""dkimcheck: verifies every DKIM-Signature of a message with python3-dkim (dkimpy), the
independent verifier of the DKIM scenarios. Public keys come from DNS (the system resolver:
the scenario points /etc/resolv.conf at the test's DNS), or with --txt NAME=FILE from a
file holding that name's TXT record (a key rotated after the zone was served).

    dkimcheck.py FILE [--txt NAME=FILE ...]    (FILE: an smtp-sink dump or a plain message)

Prints one line per signature, "INDEX a=ALG d=DOMAIN s=SELECTOR h=HEADERS pass|fail", and
exits 0 when there is at least one signature and every one passes, 1 otherwise.
Run with /usr/bin/python3 (the Debian python that has the dkim module)."""
import re
import sys

import dkim


def message(path):
    raw = open(path, "rb").read()
    # smtp-sink writes its own X-* lines first; the message is what follows them, LF or CRLF
    raw = raw.replace(b"\r\n", b"\n")
    lines = raw.split(b"\n")
    while lines and re.match(rb"^X-(Client|Helo|Mail|Rcpt)[A-Za-z-]*: ", lines[0]):
        lines.pop(0)
    return b"\r\n".join(lines)


def main():
    path, txt = sys.argv[1], {}
    for arg in sys.argv[2:]:
        if arg.startswith("--txt"):
            continue
        name, _, f = arg.partition("=")
        txt[name.rstrip(".") + "."] = open(f, "rb").read().strip()
    msg = message(path)
    dnsfunc = None
    if txt:
        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return txt.get(n.rstrip(".") + ".", b"")
    d = dkim.DKIM(msg)
    sigs = [v for k, v in d.headers if k.lower() == b"dkim-signature"]
    ok = bool(sigs)
    for i, sig in enumerate(sigs):
        tags = dict(re.findall(rb"\s*([a-z]+)\s*=\s*([^;]*)", re.sub(rb"\s+", b"", sig)))
        good = d.verify(idx=i, dnsfunc=dnsfunc) if dnsfunc else d.verify(idx=i)
        ok = ok and good
        print("%d a=%s d=%s s=%s h=%s %s" % (i, tags.get(b"a", b"").decode(),
              tags.get(b"d", b"").decode(), tags.get(b"s", b"").decode(),
              tags.get(b"h", b"").decode(), "pass" if good else "fail"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
