# A relay's ssl block with verify = true (the default there): the certificate must chain to
# ssl.ca_file and name the relay (its host, or ssl.verify_name). A private Postfix serves
# four listeners: the right certificate (delivered, tls_peer=verified), one from the same CA
# for another name, a self-signed one (both deferred with 4.7.5 "Server certificate not
# verified", and nothing but EHLO/STARTTLS/EHLO ever reaches them: no cleartext fallback),
# and the self-signed one again for a relay with verify = false (delivered, encrypted,
# tls_peer=untrusted).
. "$SCN/lib.sh"

tls_cert good relay.example
tls_cert other other.example
tls_selfsigned self relay.example
zone_a relay 127.0.0.20
dns_start
sink_start after 127.0.0.21
tls="smtpd_tls_security_level = may"
postfix_start relay 127.0.0.20 'relay_domains = a.example b.example c.example d.example' \
    'relayhost = [127.0.0.21]:25' "$tls" "smtpd_tls_cert_file = $T/tls/good.pem" \
    "smtpd_tls_key_file = $T/tls/good.key" 'smtpd_tls_loglevel = 1'
postfix_listen relay 127.0.0.23:25 -o "smtpd_tls_cert_file=$T/tls/other.pem" \
    -o "smtpd_tls_key_file=$T/tls/other.key" -o syslog_name=postfix/other
postfix_listen relay 127.0.0.24:25 -o "smtpd_tls_cert_file=$T/tls/self.pem" \
    -o "smtpd_tls_key_file=$T/tls/self.key" -o syslog_name=postfix/self
postfix_listen relay 127.0.0.25:25 -o "smtpd_tls_cert_file=$T/tls/self.pem" \
    -o "smtpd_tls_key_file=$T/tls/self.key" -o syslog_name=postfix/noverify
CA=$T/tls/ca.pem
conf_set deliver.relays "(
  { address = \"relay.example\"; destdomains = [ \"a.example\" ];
    ssl = { verify = true; ca_file = \"$CA\"; }; },
  { address = \"[127.0.0.23]:25\"; destdomains = [ \"b.example\" ];
    ssl = { ca_file = \"$CA\"; verify_name = \"relay.example\"; }; },
  { address = \"[127.0.0.24]:25\"; destdomains = [ \"c.example\" ];
    ssl = { mode = \"starttls\"; ca_file = \"$CA\"; verify_name = \"relay.example\"; }; },
  { address = \"[127.0.0.25]:25\"; destdomains = [ \"d.example\" ]; ssl = { verify = false; }; } )"
conf_set deliver.interval '"1m"'
sluice_start

inject_swaks sender@src.example u@a.example,u@b.example,u@c.example,u@d.example
wait_until '[ "$(sink_rcpts after)" -ge 2 ]' 30 "u@a.example and u@d.example through Postfix"
for r in u@b.example u@c.example; do
    wait_until "[ \"\$(mailq_field $r 5)\" = deferred ]" 30 "mailq: $r deferred"
done
log_has 'to=<u@a\.example>, relay=relay\.example\[127\.0\.0\.20\]:25, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=verified, .*status=sent' ||
    fail "no log line: u@a.example sent to relay.example, tls_peer=verified"
log_has 'to=<u@d\.example>, relay=\[127\.0\.0\.25\]:25, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=untrusted, .*status=sent' ||
    fail "no log line: u@d.example sent with verify = false, tls_peer=untrusted"
last=$(mailq_field u@b.example 8)
echo "$last" | grep -Eq '^4\.7\.5 Server certificate not verified for \[127\.0\.0\.23\]:25: hostname mismatch$' ||
    fail "mailq LAST of u@b.example: got '$last', want 4.7.5 ... hostname mismatch"
last=$(mailq_field u@c.example 8)
echo "$last" | grep -Eq '^4\.7\.5 Server certificate not verified for \[127\.0\.0\.24\]:25: self[- ]signed certificate$' ||
    fail "mailq LAST of u@c.example: got '$last', want 4.7.5 ... self-signed certificate"
log_has 'to=<u@b\.example>, relay=none, tls=none, .*dsn=4\.7\.5, status=deferred' ||
    fail "no log line: u@b.example deferred with 4.7.5"
PFLOG=$(postfix_log relay)
for l in other self; do
    grep -q "postfix/$l/smtpd.*< [^ ]*: STARTTLS" "$PFLOG" || fail "listener $l saw no STARTTLS"
    grep -Eq "postfix/$l/smtpd.*< [^ ]*: (MAIL|RCPT|DATA|AUTH)" "$PFLOG" &&
        fail "listener $l got a transaction over an unverified session"
    grep -q "postfix/$l/smtpd.*disconnect from .* mail=" "$PFLOG" && fail "listener $l got MAIL"
    expect_eq "$(grep -c "postfix/$l/smtpd.*disconnect from .* starttls=1" "$PFLOG")" 1 \
        "sessions with listener $l (one, no cleartext retry)"
done
expect_eq "$(sink_rcpts after)" 2 "recipients relayed on by Postfix"

note "check-config loads every relay's CA file: one that does not load is an error (exit 78)"
cat >"$T/bad.conf" <<EOC
spool = "$T/spool2";
user = "root";
deliver = { relays = ( { address = "r.example"; ssl = { ca_file = "$T/tls/missing.pem"; }; } ); };
EOC
rc=0
out=$("$SLUICE" check-config -c "$T/bad.conf" 2>&1) || rc=$?
expect_eq "$rc" 78 "check-config exit status for a CA file that does not load"
echo "$out" | grep -q "^$T/bad.conf: tls: deliver.relays\[0\]\.ssl: ca_file $T/tls/missing.pem: " ||
    fail "check-config: got '$out'"
