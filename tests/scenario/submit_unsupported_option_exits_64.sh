# Options sluice does not implement print "unsupported option" and exit 64 (EX_USAGE);
# -bp lists the queue like mailq; -q asks the daemon for a queue run.
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

conf_set smtpd.listen '[ "127.0.0.1:2525" ]'
sluice_conf
for opt in -bd -bi -q30m -oQ/tmp -X; do
    rc=0
    "$SLUICE" submit -c "$CONF" "$opt" u@x.example </dev/null >"$T/out" 2>&1 || rc=$?
    expect_eq "$rc" 64 "exit status of $opt"
    grep -q 'unsupported option' "$T/out" || fail "$opt: $(cat "$T/out")"
done
sluice_start
printf 'Subject: q\n\nx\n' | submit a@src.example u@nowhere.example
"$SLUICE" submit -c "$CONF" -bp >"$T/bp.out" 2>&1 || fail "-bp: $(cat "$T/bp.out")"
grep -q 'u@nowhere\.example' "$T/bp.out" || fail "-bp does not list the queue: $(cat "$T/bp.out")"
"$SLUICE" submit -c "$CONF" -q >"$T/q.out" 2>&1 || fail "-q: $(cat "$T/q.out")"
grep -q 'queue run requested' "$T/q.out" || fail "-q: $(cat "$T/q.out")"
