# CVE-2011-0411 class: commands a client (or a man in the middle) pipelines in plaintext
# after STARTTLS, before the server's 220, are discarded, never executed inside the TLS
# session. After the handshake the session starts afresh (RFC 3207 §4.2): no HELO/EHLO, no
# transaction, so MAIL needs a new EHLO. STARTTLS again under TLS gets 503, STARTTLS with an
# argument 501, STARTTLS inside a transaction 503.
. "$SCN/lib.sh"

tls_make_cert server rsa
tls_use server
sluice_start

python3 - "$T/tls/ca.crt" "$SMTP_PORT" >"$T/talk.out" 2>&1 <<'PY' || fail "$(cat "$T/talk.out")"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=15)
buf = b""
def reply(sock):
    """One complete (multi-line) reply."""
    global buf
    while True:
        lines = buf.split(b"\r\n")
        for i, l in enumerate(lines[:-1]):
            if len(l) >= 4 and l[3:4] == b" ":
                out = b"\r\n".join(lines[: i + 1]).decode()
                buf = b"\r\n".join(lines[i + 1 :])
                return out
        data = sock.recv(65536)
        if not data:
            return "<closed>"
        buf += data
def talk(sock, line):
    sock.sendall(line.encode() + b"\r\n")
    r = reply(sock)
    print(f"{line} -> {r.splitlines()[-1]}")
    return r
print("greeting", reply(raw))
talk(raw, "EHLO c.example")
talk(raw, "STARTTLS now")
talk(raw, "MAIL FROM:<a@src.example>")
talk(raw, "STARTTLS")        # inside a transaction
talk(raw, "RSET")
# the attack: STARTTLS and plaintext commands in one write
raw.sendall(b"STARTTLS\r\nRSET\r\nEHLO injected.example\r\nMAIL FROM:<evil@injected.example>\r\n")
r = reply(raw)
print("STARTTLS+injected ->", r)
assert r.startswith("220 "), r
assert buf == b"", ("bytes after the 220", buf)
tls = ctx.wrap_socket(raw, server_hostname="sluice.example")
print("tls", tls.version())
# replies come in order: had the injected RSET/EHLO/MAIL run, their replies would be read
# here as the replies to these commands
talk(tls, "MAIL FROM:<a@src.example>")      # needs EHLO again
talk(tls, "RCPT TO:<u@x.example>")          # the injected MAIL is not open
talk(tls, "EHLO c.example")
talk(tls, "STARTTLS")                       # twice
talk(tls, "QUIT")
PY
cat "$T/talk.out"
grep -q '^STARTTLS now -> 501 5\.5\.4 Syntax: STARTTLS' "$T/talk.out" || fail "STARTTLS with an argument"
grep -q '^STARTTLS -> 503 5\.5\.1 Error: MAIL transaction in progress' "$T/talk.out" || fail "STARTTLS in a transaction"
grep -q '^MAIL FROM:<a@src.example> -> 503 5\.5\.1 Error: send HELO/EHLO first' "$T/talk.out" ||
    fail "the session kept its EHLO across the handshake"
grep -q '^RCPT TO:<u@x.example> -> 503 5\.5\.1 Error: need MAIL command' "$T/talk.out" ||
    fail "the injected MAIL was executed"
grep -q '^EHLO c.example -> 250 HELP' "$T/talk.out" || fail "EHLO under TLS"
grep -q '^STARTTLS -> 503 5\.5\.1 Error: TLS already active' "$T/talk.out" || fail "STARTTLS twice"
grep -q '^QUIT -> 221 ' "$T/talk.out" || fail "QUIT"
log_has 'client=\[127\.0\.0\.1\]: [0-9]+ bytes sent after STARTTLS before its reply: discarded' ||
    fail "no log line for the discarded plaintext"
log_has 'injected' && fail "an injected command reached the log"
sluice_answers || fail "sluice stopped answering"
true
