# SIGHUP re-reads smtpd.tls's certificate and key files: a session that started its TLS
# before the signal goes on and delivers (it keeps its certificate), a new handshake gets
# the new certificate (its serial), and the log names the new serial. A file that no longer
# loads (garbage, a key of another certificate) keeps the current certificate: one error
# line, the daemon goes on. The daemon runs as its unprivileged user meanwhile, so the key
# is readable by that user (0640 root:sluice).
. "$SCN/lib.sh"

zone_mx tls "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert a rsa
tls_make_cert b rsa
tls_make_cert c rsa
d=$T/tls
# live CERT: puts certificate CERT (and its key) in place of live.crt/live.key
live() {
    install -m 0644 "$d/$1.crt" "$d/live.crt.new" && mv "$d/live.crt.new" "$d/live.crt"
    install -m 0640 -g sluice "$d/$1.key" "$d/live.key.new" && mv "$d/live.key.new" "$d/live.key"
}
live a
tls_use live
sluice_start
a=$(tls_serial "$d/a.crt")
b=$(tls_serial "$d/b.crt")

# served_serial: the serial of the certificate a new handshake gets
served_serial() {
    echo QUIT | tls_client_full -CAfile "$d/ca.crt" >"$T/s_client.out"
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$T/s_client.out" >"$T/peer.crt"
    tls_serial "$T/peer.crt"
}
expect_eq "$(served_serial)" "$a" "serial before SIGHUP"

note "a session in its transaction across the reload"
python3 - "$d/ca.crt" "$SMTP_PORT" "$T/held" >"$T/held.out" 2>&1 <<'PY' &
import os, smtplib, ssl, sys, time
ca, port, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="c.example", timeout=30)
s.starttls(context=ssl.create_default_context(cafile=ca))
s.ehlo()
print("serial", s.sock.getpeercert()["serialNumber"], flush=True)
s.mail("a@src.example")
s.rcpt("held@tls.example")
open(base + ".ready", "w").close()
while not os.path.exists(base + ".go"):   # the test says when
    time.sleep(0.05)
code, text = s.data("Subject: held across SIGHUP\r\n\r\nbody\r\n")
print("data", code, text.decode(), flush=True)
s.quit()
PY
SCN_PIDS+=($!)
held=$!
wait_until '[ -e "$T/held.ready" ]' 15 "the held session in its transaction"
live b
kill -HUP "$SLUICE_PID"
wait_until "log_has 'smtpd: TLS certificates reloaded: RSA serial $b\$'" 10 "the reload of certificate b"
expect_eq "$(served_serial)" "$b" "serial of a new handshake after SIGHUP"
touch "$T/held.go"
wait "$held" || fail "held session: $(cat "$T/held.out")"
grep -q "^serial $a\$" "$T/held.out" || fail "the held session had another certificate: $(cat "$T/held.out")"
grep -q '^data 250 2\.0\.0 Ok: queued as ' "$T/held.out" || fail "held session after SIGHUP: $(cat "$T/held.out")"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "the held message at the MX"

note "a certificate that does not load keeps the current one"
echo "garbage" >"$d/live.crt"
kill -HUP "$SLUICE_PID"
wait_until "log_count 'smtpd: TLS reload failed, the current certificates stay: smtpd\.tls\.cert_file $d/live\.crt: no PEM certificate' | grep -qx 1" 10 \
    "the failed reload (garbage)"
expect_eq "$(served_serial)" "$b" "serial after a failed reload"
install -m 0644 "$d/c.crt" "$d/live.crt" # c's certificate, b's key
kill -HUP "$SLUICE_PID"
wait_until "log_has 'smtpd: TLS reload failed, the current certificates stay: smtpd\.tls\.key_file $d/live\.key: .*key values mismatch'" 10 \
    "the failed reload (key of another certificate)"
expect_eq "$(served_serial)" "$b" "serial after a mismatched reload"
sluice_alive || fail "sluice died"
sluice_stop
true
