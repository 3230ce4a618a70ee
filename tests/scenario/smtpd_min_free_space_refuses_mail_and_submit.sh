# min_free_space (seed min-availspace): when the spool's filesystem has less free, MAIL gets
# 452 4.3.1 and `sluice submit` exits 75 (EX_TEMPFAIL) without storing anything.
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

conf_set smtpd.min_free_space 1125899906842624L
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^452 4\.3\.1 Insufficient system storage' "MAIL with the spool below min_free_space"
rc=0
printf 'Subject: x\n\nbody\n' | "$SLUICE" submit -c "$CONF" -f a@src.example u@dst.example >"$T/submit.out" 2>&1 || rc=$?
expect_eq "$rc" 75 "sluice submit exit status"
grep -q 'min_free_space' "$T/submit.out" || fail "no clear message: $(cat "$T/submit.out")"
expect_eq "$(mailq_count)" 0 "queued recipients"
