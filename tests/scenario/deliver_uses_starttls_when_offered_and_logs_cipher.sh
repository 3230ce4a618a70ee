# Opportunistic TLS is the default (seed 000 `anonssl latent`, RFC 3207): sluice uses
# STARTTLS with every server that offers it. The MX of tls.example is a private Postfix with
# smtpd_tls_security_level = may and a certificate from a CA sluice does not know: the
# session is encrypted (Postfix logs it and names it in its Received header), and the
# delivery log line names protocol and cipher and what the certificate proved
# (tls=TLSv1.3/CIPHER, tls_peer=untrusted). The MX of plain.example (smtp-sink) offers no
# STARTTLS: its mail goes in cleartext and the line says tls=none.
. "$SCN/lib.sh"

tls_cert mx mx.tls.example
zone_mx tls "10 mx.tls"
zone_a mx.tls 127.0.0.20
zone_mx plain "10 mx.plain"
zone_a mx.plain 127.0.0.22
dns_start
sink_start after 127.0.0.21
sink_start plain 127.0.0.22
postfix_start mx 127.0.0.20 'relay_domains = tls.example' 'relayhost = [127.0.0.21]:25' \
    'smtpd_tls_security_level = may' "smtpd_tls_cert_file = $T/tls/mx.pem" \
    "smtpd_tls_key_file = $T/tls/mx.key" 'smtpd_tls_loglevel = 1' \
    'smtpd_tls_received_header = yes'
sluice_start

inject_swaks sender@src.example u1@tls.example,u2@plain.example
wait_until '[ "$(sink_rcpts after)" -ge 1 ]' 30 "u1@tls.example through Postfix"
wait_until '[ "$(sink_rcpts plain)" -ge 1 ]' 30 "u2@plain.example at its sink"
wait_until queue_empty 20 "empty queue"

log_has 'to=<u1@tls\.example>, relay=mx\.tls\.example\[127\.0\.0\.20\]:25, tls=TLSv1\.3/TLS_[A-Z0-9_]+, tls_peer=untrusted, delay=.*status=sent' ||
    fail "no log line: to=<u1@tls.example>, relay=..., tls=TLSv1.3/CIPHER, tls_peer=untrusted, ... status=sent"
log_has 'to=<u2@plain\.example>, relay=mx\.plain\.example\[127\.0\.0\.22\]:25, tls=none, delay=.*status=sent' ||
    fail "no log line: to=<u2@plain.example>, relay=..., tls=none, ... status=sent"
log_has 'smtpc mx\.tls\.example\[127\.0\.0\.20\]:25: TLS TLSv1\.3 with cipher TLS_[A-Z0-9_]+ \([0-9]+ bits\), peer untrusted \(unable to get local issuer certificate\)' ||
    fail "no TLS session line for mx.tls.example"
grep -Eq 'Anonymous TLS connection established from [^ ]*\[127\.0\.0\.1\]: TLSv1\.3 with cipher|TLS connection established from [^ ]*\[127\.0\.0\.1\]: TLSv1\.3' \
    "$(postfix_log mx)" || fail "Postfix logged no TLS connection from sluice"
grep -rEq 'using TLSv1\.3 with cipher' "$T/sinks/after" ||
    fail "the Received header Postfix added does not name TLS"
note "$(grep -Eo 'to=<u1@tls\.example>, relay=[^ ]+, tls=[^ ]+ tls_peer=[a-z]+' "$SLUICE_LOG")"
