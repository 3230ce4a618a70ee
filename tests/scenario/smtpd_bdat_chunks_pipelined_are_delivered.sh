# RFC 3030 CHUNKING: BDAT chunks (counted, not dot-stuffed) and BDAT LAST, pipelined with
# MAIL and RCPT in one write, make one message that is delivered; a BDAT outside a
# transaction is read and refused with 503.
. "$SCN/lib.sh"

# smtp_talk FILE [IP] [PORT]: waits for the greeting, sends FILE in one write (the client
# pipelines everything), prints every reply until the server closes (15 s at most).
smtp_talk() {
    python3 - "$1" "${2:-127.0.0.1}" "${3:-$SMTP_PORT}" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
s.settimeout(15)
out = b""
while b"\r\n" not in out:
    b = s.recv(65536)
    if not b:
        break
    out += b
s.sendall(open(sys.argv[1], "rb").read())
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode("utf-8", "replace").replace("\r\n", "\n"))
PY
}

# expect_reply REGEX WHAT: the last smtp_talk output ($T/replies) has a line matching REGEX.
expect_reply() {
    grep -Eq -- "$1" "$T/replies" || fail "$2: no reply matching '$1' in: $(tr '\n' '|' <"$T/replies")"
}

zone_mx chunk "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

printf 'EHLO client.example\r\nBDAT 4\r\nxyz\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@chunk.example>\r\nBDAT 19\r\nSubject: chunked\r\n\r\nBDAT 12 LAST\r\n.not a dot\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250-CHUNKING' "CHUNKING advertised"
expect_reply '^503 5\.5\.1' "BDAT without a transaction"
expect_reply '^250 2\.0\.0 Ok: 19 octets received' "first chunk"
expect_reply '^250 2\.0\.0 Ok: queued as' "last chunk"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the message at the MX"
grep -l '^Subject: chunked' "$T/sinks/mx"/t.* >/dev/null || fail "header not delivered"
grep -l '^\.not a dot' "$T/sinks/mx"/t.* >/dev/null || fail "BDAT content was dot-unstuffed"
