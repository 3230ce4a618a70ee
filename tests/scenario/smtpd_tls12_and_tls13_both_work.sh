# TLS 1.2 and TLS 1.3 both work by default (smtpd.tls.min_protocol "TLSv1.2"): a client
# limited to either delivers, and the log and Received name the version it got. With
# min_protocol "TLSv1.3" a TLS 1.2 client fails its handshake: the connection is closed
# with a log line (no SMTP reply can be sent there), and TLS 1.3 clients still deliver.
. "$SCN/lib.sh"

tls_world
sluice_start

# deliver SUBJECT s_client-options...: one message over STARTTLS with openssl s_client
deliver() {
    local subject=$1
    shift
    printf 'EHLO c.example\nMAIL FROM:<a@src.example>\nRCPT TO:<u@tls.example>\nDATA\nSubject: %s\n\nbody\n.\nQUIT\n' \
        "$subject" | tls_client_full -CAfile "$T/tls/ca.crt" -verify_return_error "$@" >"$T/s_client.out"
    grep -q '250 2\.0\.0 Ok: queued' "$T/s_client.out" || fail "$subject: not queued: $(tail -8 "$T/s_client.out")"
}
deliver "over 1.2" -tls1_2
grep -q 'Protocol  *: TLSv1\.2' "$T/s_client.out" || fail "s_client -tls1_2 did not get TLS 1.2"
deliver "over 1.3" -tls1_3
grep -q '^New, TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384' "$T/s_client.out" || fail "s_client -tls1_3 did not get TLS 1.3"
wait_until '[ "$(sink_msgs mx)" -ge 2 ]' 30 "both messages at the MX"
f12=$(grep -l '^Subject: over 1.2' "$T/sinks/mx"/t.*)
f13=$(grep -l '^Subject: over 1.3' "$T/sinks/mx"/t.*)
grep -Eq '^	\(using TLSv1\.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 \(256/256 bits\)\)' "$f12" ||
    fail "Received over TLS 1.2: $(grep -A3 '^Received: from c.example' "$f12")"
grep -Eq '^	\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)\)' "$f13" ||
    fail "Received over TLS 1.3: $(grep -A3 '^Received: from c.example' "$f13")"
log_has 'tls=TLSv1\.2/ECDHE-RSA-AES256-GCM-SHA384$' || fail "no TLS 1.2 message line"
log_has 'tls=TLSv1\.3/TLS_AES_256_GCM_SHA384$' || fail "no TLS 1.3 message line"

note "min_protocol TLSv1.3"
sluice_stop
conf_set smtpd.tls "{ cert_file = \"$T/tls/server.crt\"; key_file = \"$T/tls/server.key\"; min_protocol = \"TLSv1.3\"; }"
rm -f "$CONF"
sluice_start
echo QUIT | tls_client -tls1_2 >"$T/s_client.out"
grep -q '221 ' "$T/s_client.out" && fail "a TLS 1.2 client got through: $(tail -5 "$T/s_client.out")"
wait_until "log_has 'client=\[127\.0\.0\.1\]: TLS handshake failed \(STARTTLS\): .*unsupported protocol'" 10 \
    "the refused TLS 1.2 handshake in the log"
deliver "1.3 only" -tls1_3
sluice_answers || fail "sluice stopped answering"
true
