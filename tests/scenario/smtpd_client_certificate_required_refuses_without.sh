# Client certificates (seed 002 tls-require-cert, tls-CAfile): with smtpd.tls.require_cert
# a client without a certificate, or with one the ca_file does not verify, finishes the
# handshake and gets "421 4.7.1 ... client certificate required / not trusted", then the
# connection is closed; a client with a certificate of the test CA delivers, and the log
# and the Received header name its subject, issuer and "verified OK".
. "$SCN/lib.sh"

zone_mx tls "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert server rsa
tls_make_cert client rsa ca client.example
tls_make_cert stranger rsa other stranger.example
conf_set smtpd.tls "{ cert_file = \"$T/tls/server.crt\"; key_file = \"$T/tls/server.key\";
    ca_file = \"$T/tls/ca.crt\"; require_cert = true; }"
sluice_start

# try NAME s_client-options...: EHLO and one message over STARTTLS into $T/NAME.out
try() {
    local name=$1
    shift
    printf 'EHLO c.example\nMAIL FROM:<a@src.example>\nRCPT TO:<%s@tls.example>\nDATA\nSubject: %s\n\nbody\n.\nQUIT\n' \
        "$name" "$name" | tls_client -CAfile "$T/tls/ca.crt" "$@" >"$T/$name.out"
}
try nocert
grep -q '^421 4\.7\.1 sluice\.example Error: client certificate required' "$T/nocert.out" ||
    fail "no certificate: $(grep -E '^[0-9]{3}' "$T/nocert.out" | tr '\n' '|')"
grep -q '^250 2\.' "$T/nocert.out" && fail "no certificate: a command was accepted"
log_has 'client=\[127\.0\.0\.1\]: refused: client certificate required' || fail "no refusal line"

try stranger -cert "$T/tls/stranger.crt" -key "$T/tls/stranger.key"
grep -q '^421 4\.7\.1 sluice\.example Error: client certificate not trusted' "$T/stranger.out" ||
    fail "untrusted certificate: $(grep -E '^[0-9]{3}' "$T/stranger.out" | tr '\n' '|')"
log_has 'ccert=unverified \(unable to verify the first certificate\) subject="CN=stranger\.example,O=sluice tests"' ||
    fail "no unverified line: $(grep ccert= "$SLUICE_LOG")"

try client -cert "$T/tls/client.crt" -key "$T/tls/client.key"
grep -q '^250 2\.0\.0 Ok: queued' "$T/client.out" || fail "trusted certificate: $(grep -E '^[0-9]{3}' "$T/client.out" | tr '\n' '|')"
log_has 'ccert=verified subject="CN=client\.example,O=sluice tests" issuer="CN=sluice test CA"' ||
    fail "no verified line: $(grep ccert= "$SLUICE_LOG")"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "the message at the MX"
f=$(grep -l '^Subject: client' "$T/sinks/mx"/t.*)
grep -q '^	(Client CN "client\.example", Issuer "sluice test CA" (verified OK))' "$f" ||
    fail "Received: $(grep -A4 '^Received: from c.example' "$f")"
expect_eq "$(sink_msgs mx)" 1 "messages delivered (only the one with a trusted certificate)"
sluice_answers || fail "sluice stopped answering"
true
