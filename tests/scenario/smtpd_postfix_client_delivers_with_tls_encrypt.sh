# A real MTA as the client: a private Postfix whose smtp client relays everything to sluice
# with smtp_tls_security_level = encrypt (mandatory TLS: Postfix defers rather than send in
# clear) delivers into sluice over STARTTLS; Postfix verifies sluice's certificate against
# the test CA ("Trusted TLS connection"), sluice's Received says ESMTPS with the protocol
# and cipher, and both logs name the same TLS version and cipher.
. "$SCN/lib.sh"

tls_world
sluice_start
postfix_start client 127.0.0.20 "relayhost = [127.0.0.1]:$SMTP_PORT" \
    'smtp_tls_security_level = encrypt' "smtp_tls_CAfile = $T/tls/ca.crt" \
    'smtp_tls_loglevel = 1' 'smtp_host_lookup = native' 'disable_dns_lookups = yes'
printf 'Subject: from postfix\n\nrelayed by a private Postfix over TLS\n' |
    sendmail -C "$T/postfix/client/etc" -f sender@src.example u1@tls.example ||
    fail "postfix sendmail failed"
PFLOG=$(postfix_log client)
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 60 "the message at the MX (via Postfix, then sluice)"
grep -Eq "Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$SMTP_PORT: TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384" "$PFLOG" ||
    fail "Postfix's TLS line: $(grep -i 'TLS' "$PFLOG" | tail -3)"
grep -Eq "status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)" "$PFLOG" || fail "Postfix did not log sent: $(grep 'status=' "$PFLOG")"
f=$(grep -l '^Subject: from postfix' "$T/sinks/mx"/t.*)
grep -Eq '^	\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)\)' "$f" ||
    fail "Received: $(grep -A4 '^Received: from client' "$f")"
grep -Eq '^	by sluice\.example \(sluice\) with ESMTPS id ' "$f" || fail "not ESMTPS"
log_has 'client=[^ ]*\[127\.0\.0\.1\], tls=TLSv1\.3/TLS_AES_256_GCM_SHA384$' &&
    log_has 'from=<sender@src\.example>, size=[0-9]+, nrcpt=1 \(queue active\)$' ||
    fail "sluice's message line: $(grep 'from=<sender' "$SLUICE_LOG")"
true
