# sendmail compatibility: the binary called `sendmail` takes -t (recipients from To/Cc/Bcc,
# Bcc removed), -i/-oi (a lone dot does not end the message), -f, -F (full name in the added
# From), -r, -N/-R/-V (DSN); the message is delivered without the SMTP listener being needed.
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

zone_mx sm "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
ln -s "$SLUICE" "$T/sendmail"
printf 'To: u1@sm.example\nCc: "Two" <u2@sm.example>\nBcc: u3@sm.example\nSubject: dash t\n\nline\n.\nafter dot\n' |
    SLUICE_CONF="$CONF" "$T/sendmail" -t -oi -f author@src.example -F 'Ann "A" Author' -N success,failure -R hdrs -V env1 >"$T/sm.out" 2>&1 ||
    fail "sendmail -t: $(cat "$T/sm.out")"
printf 'Subject: dash r\n\nbody\n.\nnot delivered\n' |
    SLUICE_CONF="$CONF" "$T/sendmail" -r other@src.example u4@sm.example >"$T/sm.out" 2>&1 || fail "sendmail -r: $(cat "$T/sm.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 4 ]' 30 "4 recipients at the MX"
f=$(grep -l '^Subject: dash t' "$T/sinks/mx"/t.*)
grep -q '^after dot' "$f" || fail "-oi: the message ended at the lone dot"
grep -qi '^Bcc:' "$f" && fail "Bcc header not removed"
grep -q '^From: "Ann \\"A\\" Author" <author@src.example>' "$f" || fail "-F: $(grep '^From' "$f")"
f=$(grep -l '^Subject: dash r' "$T/sinks/mx"/t.*)
grep -q 'not delivered' "$f" && fail "without -i the lone dot must end the message"
true
