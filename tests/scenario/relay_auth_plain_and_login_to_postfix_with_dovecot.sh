# Client AUTH to relays (RFC 4954, seed 000 relays `auth`): sluice authenticates to a
# private Postfix smarthost whose SASL is Dovecot (smtpd_sasl_type = dovecot), which relays
# only for authenticated clients (sluice's address is not in its mynetworks) and offers AUTH
# only under TLS (smtpd_tls_auth_only). One listener offers PLAIN and LOGIN: sluice picks
# PLAIN and sends the initial response on the AUTH line (initrsp = true). Another offers only
# LOGIN: sluice answers its prompts (initrsp = false); that relay reads its password from a
# password_file (mode 600). Postfix logs sasl_method and sasl_username for each message and
# relays both on; the client transcript shows the AUTH lines with <hidden> in place of
# every credential, and no credential appears in sluice's log or transcript.
. "$SCN/lib.sh"

tls_cert relay relay.example
dns_start
sink_start after 127.0.0.21
dovecot_auth_start auth 'alice:pl41n-s3cret' 'bob:l0gin s3cret'
postfix_start relay 127.0.0.20 'relay_domains =' 'relayhost = [127.0.0.21]:25' \
    'mynetworks = 127.0.0.254/32' 'smtpd_relay_restrictions = permit_sasl_authenticated, reject' \
    'smtpd_tls_security_level = may' "smtpd_tls_cert_file = $T/tls/relay.pem" \
    "smtpd_tls_key_file = $T/tls/relay.key" 'smtpd_tls_auth_only = yes' \
    'smtpd_sasl_auth_enable = yes' 'smtpd_sasl_type = dovecot' \
    "smtpd_sasl_path = $(dovecot_auth_socket auth)"
postfix_listen relay 127.0.0.23:25 -o smtpd_sasl_mechanism_filter=login -o syslog_name=postfix/login
printf 'l0gin s3cret\n' >"$T/bob.pw"
chmod 600 "$T/bob.pw"
CA=$T/tls/ca.pem
conf_set deliver.relays "(
  { address = \"[127.0.0.20]:25\"; destdomains = [ \"a.example\" ];
    ssl = { ca_file = \"$CA\"; verify_name = \"relay.example\"; };
    auth = { enabled = true; initrsp = true; username = \"alice\"; password = \"pl41n-s3cret\"; }; },
  { address = \"[127.0.0.23]:25\"; destdomains = [ \"b.example\" ];
    ssl = { ca_file = \"$CA\"; verify_name = \"relay.example\"; };
    auth = { initrsp = false; username = \"bob\"; password_file = \"$T/bob.pw\"; }; } )"
conf_set deliver.client.transcript '"%DIRLOG%transcripts/client-%DT%.log"'
sluice_start

inject_swaks sender@src.example u@a.example,u@b.example
wait_until '[ "$(sink_rcpts after)" -ge 2 ]' 30 "both recipients relayed on by Postfix"
wait_until queue_empty 20 "empty queue"
log_has 'to=<u@a\.example>, relay=\[127\.0\.0\.20\]:25, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=verified, .*status=sent' ||
    fail "no log line: u@a.example sent"
log_has 'to=<u@b\.example>, relay=\[127\.0\.0\.23\]:25, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=verified, .*status=sent' ||
    fail "no log line: u@b.example sent"
PFLOG=$(postfix_log relay)
grep -Eq 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=[^ ]*\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=alice' "$PFLOG" ||
    fail "Postfix did not log sasl_method=PLAIN, sasl_username=alice"
grep -Eq 'postfix/login/smtpd\[[0-9]+\]: [0-9A-F]+: client=[^ ]*\[127\.0\.0\.1\], sasl_method=LOGIN, sasl_username=bob' "$PFLOG" ||
    fail "Postfix did not log sasl_method=LOGIN, sasl_username=bob"
grep -q 'authentication failed' "$PFLOG" && fail "Postfix saw a failed authentication"

sluice_stop # flushes the transcript
TR=$(cat "$T"/spool/log/transcripts/client-*.log)
echo "$TR" | grep -Eq '> AUTH PLAIN <hidden>$' || fail "transcript: no 'AUTH PLAIN <hidden>'"
echo "$TR" | grep -Eq '> AUTH LOGIN$' || fail "transcript: no 'AUTH LOGIN' (no initial response)"
expect_eq "$(echo "$TR" | grep -Ec '> <hidden>$')" 2 "hidden LOGIN responses in the transcript"
echo "$TR" | grep -Eq '< 235 2\.7\.0 Authentication successful' || fail "transcript: no 235"
b64() { printf '%b' "$1" | base64 -w0; }
for secret in pl41n-s3cret 'l0gin s3cret' "$(b64 '\0alice\0pl41n-s3cret')" "$(b64 'l0gin s3cret')" \
    "$(b64 bob)"; do
    grep -rqF -- "$secret" "$SLUICE_LOG" "$T/spool/log" && fail "a credential ($secret) in sluice's log or transcript"
done
true
