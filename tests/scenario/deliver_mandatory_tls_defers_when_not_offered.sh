# anonssl mandatory = true (seed 000): no TLS, no mail. A server that offers no STARTTLS
# (smtp-sink) gets nothing and its recipient is deferred with 4.7.4 "TLS is required, but
# was not offered by host ..." (as Postfix); a server whose handshake fails (peer.py sends
# garbage after its 220 to STARTTLS) gets no cleartext fallback: 4.7.5, no MAIL ever sent.
# A private Postfix with smtpd_tls_security_level = encrypt gets its mail over TLS. A
# remotenet that names a legacy MX overrides anonssl (mandatory = false) for it alone: its
# mail goes in cleartext.
. "$SCN/lib.sh"

tls_cert mx mx.enc.example
zone_mx enc "10 mx.enc"
zone_a mx.enc 127.0.0.20
zone_mx plain "10 mx.plain"
zone_a mx.plain 127.0.0.22
zone_mx bad "10 mx.bad"
zone_a mx.bad 127.0.0.23
zone_mx legacy "10 mx.legacy"
zone_a mx.legacy 127.0.0.24
dns_start
sink_start after 127.0.0.21
sink_start plain 127.0.0.22
sink_start legacy 127.0.0.24
peer_start bad 127.0.0.23 --tls-cert "$T/tls/mx.pem" --tls-key "$T/tls/mx.key" --tls-fault garbage
postfix_start enc 127.0.0.20 'relay_domains = enc.example' 'relayhost = [127.0.0.21]:25' \
    'smtpd_tls_security_level = encrypt' "smtpd_tls_cert_file = $T/tls/mx.pem" \
    "smtpd_tls_key_file = $T/tls/mx.key" 'smtpd_tls_loglevel = 1'
conf_set deliver.client.anonssl '{ latent = true; mandatory = true; }'
conf_set deliver.client.remotenets '( { ip = "mx.legacy.example"; anonssl = { mandatory = false; }; } )'
conf_set deliver.interval '"1m"' # one attempt within the test
sluice_start

inject_swaks sender@src.example u1@enc.example,u2@plain.example,u3@bad.example,u4@legacy.example
wait_until '[ "$(sink_rcpts after)" -ge 1 ]' 30 "u1@enc.example through Postfix (encrypt)"
wait_until '[ "$(sink_rcpts legacy)" -ge 1 ]' 30 "u4@legacy.example at its sink"
for r in u2@plain.example u3@bad.example; do
    wait_until "[ \"\$(mailq_field $r 5)\" = deferred ]" 30 "mailq: $r deferred"
done
last=$(mailq_field u2@plain.example 8)
echo "$last" | grep -Eq '^4\.7\.4 TLS is required, but was not offered by host mx\.plain\.example\[127\.0\.0\.22\]:25$' ||
    fail "mailq LAST of u2: got '$last', want 4.7.4 TLS is required, but was not offered ..."
last=$(mailq_field u3@bad.example 8)
echo "$last" | grep -Eq '^4\.7\.5 TLS handshake with mx\.bad\.example\[127\.0\.0\.23\]:25 failed: ' ||
    fail "mailq LAST of u3: got '$last', want 4.7.5 TLS handshake with ... failed: ..."
log_has 'to=<u1@enc\.example>, relay=mx\.enc\.example\[127\.0\.0\.20\]:25, tls=TLSv1\.[23]/[A-Z0-9_-]+, tls_peer=untrusted, .*status=sent' ||
    fail "no log line: u1@enc.example sent over TLS"
log_has 'to=<u2@plain\.example>, relay=none, tls=none, .*dsn=4\.7\.4, status=deferred' ||
    fail "no log line: u2@plain.example deferred with 4.7.4"
log_has 'to=<u3@bad\.example>, relay=none, tls=none, .*dsn=4\.7\.5, status=deferred' ||
    fail "no log line: u3@bad.example deferred with 4.7.5"
log_has 'to=<u4@legacy\.example>, relay=mx\.legacy\.example\[127\.0\.0\.24\]:25, tls=none, .*status=sent' ||
    fail "no log line: u4@legacy.example sent in cleartext"
expect_eq "$(sink_msgs plain)" 0 "messages at the MX without STARTTLS"
wait_until '[ "$(peer_stat bad conns)" -ge 1 ]' 10 "the failed handshake's connection closed"
expect_eq "$(peer_stat bad conns)" 1 "connections to the MX whose handshake fails (no fallback)"
expect_eq "$(peer_stat bad transactions)" 0 "transactions with the MX whose handshake fails"
log_has 'trying again without TLS' && fail "a mandatory policy fell back to cleartext"
grep -Eq 'TLS connection established from [^ ]*\[127\.0\.0\.1\]' "$(postfix_log enc)" ||
    fail "Postfix (encrypt) logged no TLS connection"
