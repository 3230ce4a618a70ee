# A relay that refuses our credentials: the mail is deferred, never bounced (as Postfix's
# smtp_sasl_auth_soft_bounce), with "4.7.0 SASL authentication failed; server X said: 535
# ..." as its last reply and a warning in the log; no MAIL goes to the relay. A private
# Postfix with Dovecot answers a wrong PLAIN password with 535; peer.py refuses a wrong LOGIN
# password at the second prompt. The credentials (and their base64) appear nowhere: not in
# the log, the client transcript, the event log or mailq.
. "$SCN/lib.sh"

tls_cert relay relay.example
dns_start
sink_start after 127.0.0.21
dovecot_auth_start auth 'alice:right-s3cret'
postfix_start relay 127.0.0.20 'relay_domains =' 'relayhost = [127.0.0.21]:25' \
    'mynetworks = 127.0.0.254/32' 'smtpd_relay_restrictions = permit_sasl_authenticated, reject' \
    'smtpd_tls_security_level = may' "smtpd_tls_cert_file = $T/tls/relay.pem" \
    "smtpd_tls_key_file = $T/tls/relay.key" 'smtpd_tls_auth_only = yes' \
    'smtpd_sasl_auth_enable = yes' 'smtpd_sasl_type = dovecot' \
    "smtpd_sasl_path = $(dovecot_auth_socket auth)"
peer_start login 127.0.0.23 --tls-cert "$T/tls/relay.pem" --tls-key "$T/tls/relay.key" \
    --auth-mechs LOGIN --auth-user 'bob:right-l0gin' --auth-tls-only --auth-required
CA=$T/tls/ca.pem
conf_set deliver.relays "(
  { address = \"[127.0.0.20]:25\"; destdomains = [ \"a.example\" ];
    ssl = { ca_file = \"$CA\"; verify_name = \"relay.example\"; };
    auth = { username = \"alice\"; password = \"wr0ng-s3cret\"; }; },
  { address = \"[127.0.0.23]:25\"; destdomains = [ \"b.example\" ];
    ssl = { ca_file = \"$CA\"; verify_name = \"relay.example\"; };
    auth = { username = \"bob\"; password = \"wr0ng-l0gin\"; initrsp = false; }; } )"
conf_set deliver.client.transcript '"%DIRLOG%transcripts/client-%DT%.log"'
conf_set deliver.event_log '"%DIRLOG%events-%DT%.jsonl"'
conf_set deliver.interval '"1m"'
sluice_start

inject_swaks sender@src.example u@a.example,u@b.example
for r in u@a.example u@b.example; do
    wait_until "[ \"\$(mailq_field $r 5)\" = deferred ]" 30 "mailq: $r deferred"
done
last=$(mailq_field u@a.example 8)
echo "$last" | grep -Eq '^4\.7\.0 SASL authentication failed; server \[127\.0\.0\.20\]:25 said: 535 5\.7\.8 ' ||
    fail "mailq LAST of u@a.example: got '$last', want 4.7.0 SASL authentication failed; server ... said: 535 5.7.8 ..."
last=$(mailq_field u@b.example 8)
echo "$last" | grep -Eq '^4\.7\.0 SASL authentication failed; server \[127\.0\.0\.23\]:25 said: 535 5\.7\.8 ' ||
    fail "mailq LAST of u@b.example: got '$last', want 4.7.0 ... 535 5.7.8 ..."
for d in a b; do
    log_has "to=<u@$d\\.example>, relay=none, tls=none, .*dsn=4\\.7\\.0, status=deferred \\(4\\.7\\.0 SASL authentication failed" ||
        fail "no log line: u@$d.example deferred with 4.7.0"
done
expect_eq "$(log_count 'status=(sent|bounced)')" 0 "sent or bounced lines"
log_has 'warning: smtpc \[127\.0\.0\.20\]:25: SASL PLAIN authentication failed: 535 5\.7\.8' ||
    fail "no warning for the PLAIN failure"
log_has 'warning: smtpc \[127\.0\.0\.23\]:25: SASL LOGIN authentication failed: 535 5\.7\.8' ||
    fail "no warning for the LOGIN failure"
grep -q 'authentication failed' "$(postfix_log relay)" || fail "Postfix saw no failed authentication"
grep -Eq '< [^ ]*: (MAIL|RCPT)' "$(postfix_log relay)" && fail "MAIL reached Postfix without AUTH"
got=$(peer_conn_json login | python3 -c 'import json, sys
print(" ".join("%s:%s:%s" % (a["mech"], a["user"], a["ok"]) for r in map(json.loads, sys.stdin)
               for a in r["auth"]))')
expect_eq "$got" "LOGIN:bob:False" "AUTH attempts at the LOGIN smarthost"

mailq >"$T/mailq.all"
sluice_stop # flushes the transcript and the event log
b64() { printf '%b' "$1" | base64 -w0; }
for secret in wr0ng-s3cret wr0ng-l0gin "$(b64 '\0alice\0wr0ng-s3cret')" "$(b64 wr0ng-l0gin)"; do
    grep -rqF -- "$secret" "$SLUICE_LOG" "$T/spool/log" "$T/mailq.all" &&
        fail "a credential ($secret) in the log, a transcript, the event log or mailq"
done
grep -q '> AUTH PLAIN <hidden>$' "$T"/spool/log/transcripts/client-*.log ||
    fail "transcript: no 'AUTH PLAIN <hidden>'"
[ -n "$(ls "$T"/spool/log/events-*.jsonl)" ] || fail "no event log"
