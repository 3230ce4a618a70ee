# RFC 2920: a client that pipelines the whole transaction (EHLO to QUIT, content included)
# in one write gets every reply in order and the message is delivered; so does Postfix's
# smtp-source.
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

zone_mx pipe "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

printf 'EHLO client.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@pipe.example>\r\nRCPT TO:<u2@pipe.example>\r\nDATA\r\nSubject: piped\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_eq "$(grep -Ec '^(250 2\.1\.[05]|354|250 2\.0\.0 Ok: queued|221)' "$T/replies")" 6 "replies in order"
expect_reply '^250-PIPELINING' "PIPELINING advertised"
inject_source -m 3 -f a@src.example -t u3@pipe.example
wait_until '[ "$(sink_rcpts mx)" -ge 5 ]' 30 "5 recipients at the MX"
grep -l '^\.dot' "$T/sinks/mx"/t.* >/dev/null || fail "dot-stuffed line not restored"
wait_until queue_empty 20 "empty queue"
