# Implicit TLS (RFC 8314): on a smtpd.tls_listen address the connection is TLS from its
# first byte; Python's smtplib.SMTP_SSL (verifying the certificate against the test CA)
# gets the greeting over TLS, EHLO offers no STARTTLS, the message is delivered with
# "with ESMTPS" and tls= in the log. The listener follows the submission rules (RFC 8314
# §3.3, port 465 is "submissions"): missing Date/Message-ID are added, and a client outside
# trusted_networks gets 530 at MAIL.
. "$SCN/lib.sh"

zone_mx tls "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert server ecdsa
tls_use server
conf_set smtpd.tls_listen '[ "127.0.0.1:465" ]'
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
sluice_start
wait_until 'port_open 127.0.0.1 465' 10 "implicit TLS port 465"
log_has 'smtpd: listening on 127\.0\.0\.1:465 \(implicit TLS, submission\)' || fail "no listener line"

python3 - "$T/tls/ca.crt" >"$T/smtplib.out" 2>&1 <<'PY' || fail "smtplib: $(cat "$T/smtplib.out")"
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
with smtplib.SMTP_SSL("127.0.0.1", 465, context=ctx, local_hostname="c.example", timeout=15) as s:
    code, caps = s.ehlo()
    assert code == 250, (code, caps)
    assert not s.has_extn("starttls"), "STARTTLS offered under implicit TLS"
    print("version", s.sock.version(), "cipher", s.sock.cipher()[0])
    refused = s.sendmail("a@src.example", ["u1@tls.example"],
                         "Subject: over 465\r\n\r\nimplicit TLS body\r\n")
    assert not refused, refused
PY
grep -q '^version TLSv1.3 cipher TLS_AES_256_GCM_SHA384' "$T/smtplib.out" || fail "smtplib: $(cat "$T/smtplib.out")"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "the message at the MX"
f=$(grep -l '^Subject: over 465' "$T/sinks/mx"/t.*)
grep -q '^	by sluice\.example (sluice) with ESMTPS id ' "$f" || fail "not ESMTPS: $(grep -A4 '^Received: from c.example' "$f")"
grep -q '^	(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))' "$f" || fail "no TLS comment"
grep -q '^Date: ' "$f" || fail "no Date added on the submissions port"
grep -q '^Message-ID: <[0-9A-F]*@sluice\.example>' "$f" || fail "no Message-ID added"
log_has 'client=\[127\.0\.0\.1\]: TLS established \(implicit\): tls=TLSv1\.3/TLS_AES_256_GCM_SHA384' ||
    fail "no handshake line: $(grep TLS "$SLUICE_LOG")"
log_has 'client=\[127\.0\.0\.1\], from=<a@src\.example>, nrcpt=1, size=[0-9]+, submission, tls=TLSv1\.3/TLS_AES_256_GCM_SHA384$' ||
    fail "no tls= on the message line: $(grep 'from=<a@src' "$SLUICE_LOG")"

note "untrusted client on the submissions port: 530"
python3 - "$T/tls/ca.crt" >"$T/untrusted.out" 2>&1 <<'PY' || fail "untrusted: $(cat "$T/untrusted.out")"
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = smtplib.SMTP_SSL("127.0.0.1", 465, context=ctx, local_hostname="c.example", timeout=15,
                     source_address=("127.0.0.50", 0))
s.ehlo()
code, text = s.mail("a@src.example")
print(code, text.decode())
s.quit()
PY
grep -q '^530 5\.7\.0 ' "$T/untrusted.out" || fail "untrusted client: $(cat "$T/untrusted.out")"
true
