# A relay with ssl.mode = "implicit" speaks TLS from the first byte (RFC 8314 §3, port 465):
# no STARTTLS, the greeting and everything after it inside TLS. The relay is a private
# Postfix listener with smtpd_tls_wrappermode = yes on port 465; the certificate must verify
# (ca_file, the relay's host name) and TLS 1.3 is the least protocol (min_protocol). The
# same mode pointed at a cleartext listener (port 25) fails the handshake: deferred 4.7.5,
# never retried in cleartext.
. "$SCN/lib.sh"

tls_cert relay relay.example
zone_a relay 127.0.0.20
dns_start
sink_start after 127.0.0.21
postfix_start relay 127.0.0.20 'relay_domains = a.example b.example' \
    'relayhost = [127.0.0.21]:25' "smtpd_tls_cert_file = $T/tls/relay.pem" \
    "smtpd_tls_key_file = $T/tls/relay.key" 'smtpd_tls_loglevel = 1'
postfix_listen relay 127.0.0.20:465 -o smtpd_tls_wrappermode=yes -o syslog_name=postfix/smtps
CA=$T/tls/ca.pem
conf_set deliver.relays "(
  { address = \"relay.example:465\"; destdomains = [ \"a.example\" ];
    ssl = { mode = \"implicit\"; ca_file = \"$CA\"; min_protocol = \"TLSv1.3\"; }; },
  { address = \"[127.0.0.20]:25\"; destdomains = [ \"b.example\" ];
    ssl = { mode = \"implicit\"; verify = false; }; } )"
conf_set deliver.interval '"1m"'
sluice_start

inject_swaks sender@src.example u@a.example,u@b.example
wait_until '[ "$(sink_rcpts after)" -ge 1 ]' 30 "u@a.example through Postfix on port 465"
wait_until '[ "$(mailq_field u@b.example 5)" = deferred ]' 30 "mailq: u@b.example deferred"
log_has 'to=<u@a\.example>, relay=relay\.example\[127\.0\.0\.20\]:465, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=verified, .*status=sent' ||
    fail "no log line: u@a.example sent to relay.example:465 over verified TLS 1.3"
last=$(mailq_field u@b.example 8)
echo "$last" | grep -Eq '^4\.7\.5 TLS handshake with \[127\.0\.0\.20\]:25 failed: ' ||
    fail "mailq LAST of u@b.example: got '$last', want 4.7.5 TLS handshake with [127.0.0.20]:25 failed"
PFLOG=$(postfix_log relay)
grep -Eq 'postfix/smtps/smtpd.*TLS connection established from [^ ]*\[127\.0\.0\.1\]: TLSv1\.3' "$PFLOG" ||
    fail "Postfix's port 465 logged no TLS 1.3 connection"
grep -q 'postfix/smtps/smtpd.*< [^ ]*: STARTTLS' "$PFLOG" && fail "STARTTLS sent inside implicit TLS"
grep -Eq 'postfix/smtpd.*disconnect from .* (ehlo|mail)=' "$PFLOG" &&
    fail "a cleartext session on port 25 after the failed handshake"
expect_eq "$(sink_rcpts after)" 1 "recipients relayed on by Postfix"
