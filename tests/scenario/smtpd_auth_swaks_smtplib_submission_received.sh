# SMTP AUTH (RFC 4954) with the password file backend (sha512-crypt hashes made by openssl
# passwd): EHLO offers AUTH only under TLS (plaintext AUTH gets 538); swaks --tls with
# PLAIN and LOGIN relays anywhere for an untrusted client, a bad password and an unknown
# user get 535; Python smtplib starttls() + login() works; the submission port answers 530
# before AUTH and relays after it; the Received header says "(authenticated as alice)" and
# ESMTPSA, the log line has sasl_method/sasl_username; the transcript shows
# "AUTH PLAIN <hidden>" and no credential; SIGHUP re-reads the password file.
. "$SCN/lib.sh"

zone_mx far "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert server rsa
tls_use server
printf 'alice:%s\n' "$(openssl passwd -6 'correct horse')" >"$T/passwd"
chgrp sluice "$T/passwd" 2>/dev/null
chmod 0640 "$T/passwd"
conf_set smtpd.trusted_networks '[ "10.9.9.9/32" ]'
conf_set smtpd.submission_listen '[ "127.0.0.1:2587" ]'
conf_set smtpd.auth "{ backend = \"file\"; path = \"$T/passwd\"; failure_delay = \"200ms\"; max_failures_per_ip = 100; }"
conf_set smtpd.transcript '{ path = "%DIRLOG%transcripts/smtpd-%DT%.log"; }'
sluice_start

note "plaintext: no AUTH in EHLO, AUTH gets 538"
printf 'EHLO c.example\r\nAUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
grep -q '^250-AUTH' "$T/replies" && fail "AUTH offered without TLS"
expect_reply '^538 5\.7\.11 ' "AUTH without TLS"

note "unauthenticated untrusted client: relay refused"
swaks --server "127.0.0.1:$SMTP_PORT" --tls --from a@src.example --to u0@far.example >"$T/s0" 2>&1
grep -q '^<~\* 554 5\.7\.1 <u0@far\.example>: Relay access denied' "$T/s0" || fail "relay without AUTH: $(grep '^<~' "$T/s0" | tail -3)"

for mech in PLAIN LOGIN; do
    note "swaks --tls --auth $mech"
    swaks --server "127.0.0.1:$SMTP_PORT" --tls --auth "$mech" --auth-user alice \
        --auth-password 'correct horse' --from alice@src.example --to "u-$mech@far.example" \
        --header "Subject: auth $mech" >"$T/s-$mech" 2>&1 || fail "swaks $mech: $(tail -5 "$T/s-$mech")"
    grep -q '^<~  250-AUTH PLAIN LOGIN' "$T/s-$mech" || fail "no AUTH under TLS"
    grep -q '^<~  235 2\.7\.0 ' "$T/s-$mech" || fail "$mech: no 235"
done

note "bad password and unknown user: 535, held for failure_delay"
for who in "alice:wrong" "mallory:correct horse"; do
    t0=$(date +%s%N)
    swaks --server "127.0.0.1:$SMTP_PORT" --tls --auth PLAIN --auth-user "${who%%:*}" \
        --auth-password "${who#*:}" --from a@src.example --to u9@far.example >"$T/sbad" 2>&1
    t1=$(date +%s%N)
    grep -q '^<~\* 535 5\.7\.8 Authentication credentials invalid' "$T/sbad" || fail "$who: $(grep '^<~' "$T/sbad" | tail -2)"
    [ $(( (t1 - t0) / 1000000 )) -ge 200 ] || fail "535 not held 200 ms"
done
log_has 'AUTH failed, sasl_method=PLAIN, sasl_username=mallory: ' || fail "no failure log line"

note "smtplib starttls() + login()"
python3 - "$SMTP_PORT" "$T/tls/ca.crt" <<'PY' || fail "smtplib login failed"
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="py.example", timeout=15)
s.starttls(context=ctx)
s.login("alice", "correct horse")
s.sendmail("alice@src.example", ["u-py@far.example"], b"Subject: auth smtplib\r\n\r\nbody\r\n")
s.quit()
PY

note "submission port: 530 before AUTH, relays after"
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" 127.0.0.1 2587 >"$T/replies"
expect_reply '^530 5\.7\.0 Authentication required' "MAIL before AUTH on 587"
swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user alice --auth-password 'correct horse' \
    --from alice@src.example --to u-sub@far.example --header "Subject: auth 587" >"$T/s587" 2>&1 ||
    fail "587 with AUTH: $(tail -5 "$T/s587")"

wait_until '[ "$(sink_rcpts mx)" -ge 4 ]' 30 "the four authenticated messages at the MX"
f=$(grep -l '^Subject: auth PLAIN' "$T/sinks/mx"/t.*)
python3 - "$f" <<'PY' || fail "Received header: $(sed -n '1,/^$/p' "$f" | head -12)"
import re, sys
text = open(sys.argv[1], "rb").read().decode("latin-1")
want = (r"Received: from \S+ \(unknown \[127\.0\.0\.1\]\)\r?\n"
        r"\t\(using TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)\)\r?\n"
        r"\t\(No client certificate requested\)\r?\n"
        r"\t\(authenticated as alice\)\r?\n"
        r"\tby sluice\.example \(sluice\) with ESMTPSA id ")
sys.exit(0 if re.search(want, text) else 1)
PY
log_has ': client=\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=alice, from=<alice@src\.example>' ||
    fail "no sasl_ on the message line: $(grep 'from=<alice' "$SLUICE_LOG")"
log_has 'sasl_method=LOGIN, sasl_username=alice, from=' || fail "no LOGIN message line"
log_has 'from=<alice@src\.example>, nrcpt=1, size=[0-9]+, submission, tls=' || fail "587 message line"

note "SIGHUP re-reads the password file"
printf 'alice:%s\nbob:%s\n' "$(openssl passwd -6 'correct horse')" "$(openssl passwd -6 builder)" >"$T/passwd.new"
chgrp sluice "$T/passwd.new" 2>/dev/null; chmod 0640 "$T/passwd.new"; mv "$T/passwd.new" "$T/passwd"
kill -HUP "$SLUICE_PID"
wait_until "log_has 'AUTH password file .* reloaded'" 10 "the reload"
swaks --server "127.0.0.1:$SMTP_PORT" --tls --auth PLAIN --auth-user bob --auth-password builder \
    --from bob@src.example --to u-bob@far.example >"$T/sbob" 2>&1 || fail "bob after SIGHUP: $(tail -3 "$T/sbob")"

sluice_stop
note "transcript: AUTH lines recorded with the secret hidden"
spool=$(sed -n 's/^spool *= *"\(.*\)";/\1/p' "$T/sluice.conf")
tr=$(find "$spool/log/transcripts" -type f -name 'smtpd-*.log')
[ -n "$tr" ] || fail "no server transcript"
grep -q ' < AUTH PLAIN <hidden>$' $tr || fail "no 'AUTH PLAIN <hidden>': $(grep -i auth $tr | head -5)"
grep -q ' < AUTH LOGIN' $tr || fail "no AUTH LOGIN line"
grep -q ' < <hidden>$' $tr || fail "no hidden LOGIN response"
for secret in 'correct horse' "$(printf 'correct horse' | base64)" "$(printf '\0alice\0correct horse' | base64)" \
    "$(printf 'builder' | base64)" YnVpbGRlcg; do
    grep -qF -- "$secret" $tr "$SLUICE_LOG" && fail "a credential is in the transcript or log: $secret"
done
true
