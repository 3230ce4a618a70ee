# smtpd.tls.ask_cert (seed 002 tls-ask-cert): the server asks for a client certificate but
# does not require one. A client without one delivers ("Client did not present a
# certificate" in Received, ccert=none in the log); one with a certificate of ca_file's CA
# has its subject logged as verified; one from another CA delivers too, logged as
# unverified with the reason. Without ask_cert no certificate is requested at all.
. "$SCN/lib.sh"

zone_mx tls "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert server rsa
tls_make_cert client ecdsa ca client.example
tls_make_cert stranger rsa other stranger.example
conf_set smtpd.tls "{ cert_file = \"$T/tls/server.crt\"; key_file = \"$T/tls/server.key\";
    ca_file = \"$T/tls/ca.crt\"; ask_cert = true; }"
sluice_start

# send NAME s_client-options...: one message over STARTTLS; must be queued
send() {
    local name=$1
    shift
    printf 'EHLO c.example\nMAIL FROM:<a@src.example>\nRCPT TO:<%s@tls.example>\nDATA\nSubject: %s\n\nbody\n.\nQUIT\n' \
        "$name" "$name" | tls_client_full -CAfile "$T/tls/ca.crt" "$@" >"$T/$name.out"
    grep -q '250 2\.0\.0 Ok: queued' "$T/$name.out" || fail "$name: $(grep -E '[0-9]{3} ' "$T/$name.out" | tail -5 | tr '\n' '|')"
}
send nocert
grep -q '^Acceptable client certificate CA names' "$T/nocert.out" || fail "no certificate request"
grep -q 'CN *= *sluice test CA' "$T/nocert.out" || fail "the request does not name the CA"
send client -cert "$T/tls/client.crt" -key "$T/tls/client.key"
send stranger -cert "$T/tls/stranger.crt" -key "$T/tls/stranger.key"
log_has 'TLS established \(STARTTLS\): .* ccert=none$' || fail "no ccert=none line"
log_has 'ccert=verified subject="CN=client\.example,O=sluice tests" issuer="CN=sluice test CA"' ||
    fail "no verified line: $(grep ccert= "$SLUICE_LOG")"
log_has 'ccert=unverified \(unable to verify the first certificate\) subject="CN=stranger\.example,O=sluice tests" issuer="CN=Test CA other,O=sluice tests"' ||
    fail "no unverified line: $(grep ccert= "$SLUICE_LOG")"
wait_until '[ "$(sink_msgs mx)" -ge 3 ]' 30 "three messages at the MX"
grep -q '^	(Client did not present a certificate)' $(grep -l '^Subject: nocert' "$T/sinks/mx"/t.*) ||
    fail "Received without a certificate"
grep -q '^	(Client CN "client\.example", Issuer "sluice test CA" (verified OK))' $(grep -l '^Subject: client' "$T/sinks/mx"/t.*) ||
    fail "Received with a verified certificate"
grep -q '^	(Client CN "stranger\.example", Issuer "Test CA other" (not verified))' $(grep -l '^Subject: stranger' "$T/sinks/mx"/t.*) ||
    fail "Received with an unverified certificate"

note "without ask_cert: no request"
sluice_stop
tls_use server
rm -f "$CONF"
sluice_start
send plain -cert "$T/tls/client.crt" -key "$T/tls/client.key"
grep -q '^No client certificate CA names sent' "$T/plain.out" || fail "a certificate was requested without ask_cert"
log_count 'ccert=none$' | grep -qx 2 || fail "a certificate was used without ask_cert: $(grep ccert= "$SLUICE_LOG" | tail -1)"
true
