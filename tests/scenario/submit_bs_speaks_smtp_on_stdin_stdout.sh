# sendmail -bs: an SMTP session on stdin/stdout (no listener involved); the message is
# queued and delivered, dot-unstuffed.
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

zone_mx bs "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
printf 'EHLO me\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@bs.example> NOTIFY=NEVER\r\nDATA\r\nSubject: bs\r\n\r\n..dotted\r\n.\r\nQUIT\r\n' |
    "$SLUICE" submit -c "$CONF" -bs >"$T/bs.out" 2>&1 || fail "-bs: $(cat "$T/bs.out")"
grep -q '^220 ' "$T/bs.out" || fail "no greeting: $(cat "$T/bs.out")"
grep -q '^250 2\.0\.0 Ok: queued as' "$T/bs.out" || fail "not queued: $(cat "$T/bs.out")"
grep -q '^221 ' "$T/bs.out" || fail "no 221"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the message at the MX"
grep -q '^\.dotted' "$T/sinks/mx"/t.* || fail "dot-stuffing not undone"
