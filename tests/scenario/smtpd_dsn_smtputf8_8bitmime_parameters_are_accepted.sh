# DSN (RFC 3461: RET, ENVID, NOTIFY, ORCPT with xtext), 8BITMIME and SMTPUTF8 (RFC 6531: a
# UTF-8 sender is accepted with SMTPUTF8 and refused 553 5.6.7 without it) are accepted and
# the message is delivered; the Received header says UTF8SMTP.
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

zone_mx dsn "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<j\xc3\xb6rg@src.example>\r\nMAIL FROM:<j\xc3\xb6rg@src.example> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=id+2B1\r\nRCPT TO:<u1@dsn.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u1+40dsn.example\r\nRCPT TO:<u2@dsn.example> NOTIFY=NEVER\r\nRCPT TO:<u3@dsn.example> NOTIFY=NEVER,DELAY\r\nDATA\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^553 5\.6\.7' "UTF-8 sender without SMTPUTF8"
expect_reply '^501 5\.5\.4 Bad NOTIFY' "NOTIFY=NEVER with another keyword"
expect_reply '^250 2\.0\.0 Ok: queued as' "message accepted"
expect_eq "$(grep -c '^250 2\.1\.5' "$T/replies")" 2 "recipients accepted"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "2 recipients at the MX"
grep -l 'with UTF8SMTP id' "$T/sinks/mx"/t.* >/dev/null || fail "Received does not say UTF8SMTP"
