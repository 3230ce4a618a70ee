# Bad AUTH input earns RFC 4954 replies and the session goes on: bad base64 501 5.5.2, an
# unknown mechanism 504, "*" 501 5.0.0, a line over 12288 octets 500 5.5.6, AUTH before
# EHLO and inside a transaction 503, AUTH after success 503. Failed AUTHs end the session at
# max_failures (421) and lock the address out at max_failures_per_ip (421 at AUTH). A client
# that drops while its password is being checked (a pipe program that takes its time) is
# cancelled cleanly; the daemon goes on. A login made before STARTTLS is forgotten (RFC 3207
# §4.2): AUTH again under TLS gets 235, not 503. (allow_cleartext: plaintext so the raw
# client can talk; the TLS gate itself is tested in smtpd_auth_swaks_smtplib_submission_received.)
. "$SCN/lib.sh"

cat >"$T/check-pw" <<'SH'
#!/bin/sh
read -r pw
[ "$1" = slow ] && exec sleep 30
[ "$1" = alice ] && [ "$pw" = secret ] && exit 0
exit 1
SH
chmod 755 "$T/check-pw"
tls_make_cert server rsa
tls_use server
conf_set smtpd.auth "{ backend = \"pipe\"; path = \"$T/check-pw\"; allow_cleartext = true; failure_delay = \"0\"; max_failures = 2; max_failures_per_ip = 3; }"
sluice_start
ok=$(printf '\0alice\0secret' | base64)
bad=$(printf '\0alice\0nope' | base64)
long=$(head -c 13000 /dev/zero | tr '\0' A)

note "bad input, one session"
printf 'AUTH PLAIN %s\r\nEHLO c.example\r\nAUTH PLAIN !!!\r\nAUTH FOO\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN %s\r\nNOOP\r\nMAIL FROM:<a@b.example>\r\nAUTH PLAIN %s\r\nRSET\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nQUIT\r\n' \
    "$ok" "$long" "$ok" "$ok" "$ok" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
python3 - "$T/replies" <<'PY' || fail "replies: $(tr '\n' '|' <"$T/replies")"
import sys
got = [l[:9] for l in open(sys.argv[1]).read().splitlines() if not l.startswith("250-")]
want = ["220 sluic", "503 5.5.1", "250 HELP", "501 5.5.2", "504 5.5.4", "334 VXNlc", "501 5.0.0",
        "500 5.5.6", "250 2.0.0", "250 2.1.0", "503 5.5.1", "250 2.0.0", "235 2.7.0", "503 5.5.1",
        "221 2.0.0"]
sys.exit(0 if got == want else print(got) or 1)
PY
grep -q '^250-AUTH PLAIN LOGIN' "$T/replies" || fail "EHLO does not offer AUTH"

note "max_failures: the second failure ends the session with 421"
printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nNOOP\r\n' "$bad" "$bad" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^421 4\.7\.0 .*too many failed authentications' "max_failures"
grep -q '^250 2\.0\.0' "$T/replies" && fail "NOOP answered after the 421"

note "max_failures_per_ip: the fourth AUTH from this address gets 421 at once"
printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$bad" "$ok" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^421 4\.7\.0 .*try later' "max_failures_per_ip"
grep -q '^235' "$T/replies" && fail "AUTH accepted while the address is locked out"
log_has 'too many failed AUTH from this address' || fail "no lock-out log line"

note "a client drops during verification"
sluice_stop
sluice_start
printf 'EHLO c.example\r\nAUTH PLAIN %s\r\n' "$(printf '\0slow\0x' | base64)" >"$T/in"
python3 - "$T/in" "$SMTP_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
s.recv(1000)
s.sendall(open(sys.argv[1], "rb").read())
time.sleep(0.3)  # the EHLO reply is back, the check is pending
s.close()
PY
wait_until "log_has 'disconnect from \\[127\\.0\\.0\\.1\\]' || ! pgrep -f '$T/check-pw' >/dev/null" 10 "the session closed"
printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$ok" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^235 2\.7\.0' "AUTH after a dropped client"

note "STARTTLS forgets a login made before it"
python3 - "$SMTP_PORT" "$T/tls/ca.crt" "$ok" <<'PY' || fail "login across STARTTLS"
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="py.example", timeout=15)
s.ehlo()
s.login("alice", "secret")
code, _ = s.docmd("AUTH", "PLAIN " + sys.argv[3])
if code != 503:
    sys.exit(f"AUTH after login before TLS: got {code}, want 503")
s.starttls(context=ctx)
s.ehlo()
code, _ = s.docmd("AUTH", "PLAIN " + sys.argv[3])
if code != 235:
    sys.exit(f"AUTH under TLS after a cleartext login: got {code}, want 235")
s.quit()
PY
sluice_alive || fail "sluice died"
true
