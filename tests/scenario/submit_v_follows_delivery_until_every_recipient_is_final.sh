# sendmail -v (seed 002: the process stays and prints the delivery trace until "scheduler
# done"): after storing, it prints each recipient's state changes (here a deferral with its
# reply) and ends when every recipient is final or the message has left the queue.
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

zone_mx vv "10 mx"
zone_a mx 127.0.0.3
dns_start
peer_start mx 127.0.0.3 --tempfail-rcpt 'later@.*=451 4.3.0 try later' --tempfail-times 1
sluice_start
printf 'Subject: v\n\nbody\n' | timeout 60 "$SLUICE" submit -c "$CONF" -v -f a@src.example good@vv.example later@vv.example >"$T/v.out" 2>&1 ||
    fail "submit -v: $(cat "$T/v.out")"
cat "$T/v.out"
grep -q '^sluice: .* queued, following its delivery' "$T/v.out" || fail "no start line"
grep -q '<later@vv\.example>: deferred (.*451' "$T/v.out" || fail "no deferral line"
grep -q '^sluice: .* done' "$T/v.out" || fail "no done line"
