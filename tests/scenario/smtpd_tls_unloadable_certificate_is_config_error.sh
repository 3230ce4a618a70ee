# A configured certificate that cannot be used is a configuration error: `sluice
# check-config` prints "FILE: smtpd.tls.KEY PATH: why" on stderr and exits 78 (EX_CONFIG),
# and `sluice run` stops at startup (exit 1) instead of running without TLS. Missing file, garbage, a key that
# does not match its certificate, an ECDSA slot holding an RSA certificate, two ECDSA
# certificates, a CA file without certificates.
. "$SCN/lib.sh"

tls_make_cert rsa rsa
tls_make_cert rsa2 rsa
tls_make_cert ec ecdsa
echo "not a certificate" >"$T/tls/garbage.pem"

# bad WHAT REGEX TLS-GROUP: check-config and run both refuse smtpd.tls = TLS-GROUP
bad() {
    local what=$1 want=$2 out rc=0
    conf_set smtpd.tls "$3"
    sluice_conf
    out=$("$SLUICE" check-config -c "$CONF" 2>&1) || rc=$?
    expect_eq "$rc" 78 "$what: check-config exit status"
    echo "$out" | grep -Eq "^$CONF: $want" || fail "$what: got '$out', want '$CONF: $want'"
    rc=0
    timeout 20 "$SLUICE" run -c "$CONF" >"$T/run.out" 2>&1 || rc=$?
    expect_eq "$rc" 1 "$what: sluice run exit status"
    grep -Eq "fatal: smtpd: $want" "$T/run.out" || fail "$what: run said: $(cat "$T/run.out")"
    rm -f "$CONF"
}
d=$T/tls
bad "missing certificate" "smtpd\.tls\.cert_file $d/none\.crt: No such file or directory" \
    "{ cert_file = \"$d/none.crt\"; key_file = \"$d/rsa.key\"; }"
bad "missing key" "smtpd\.tls\.key_file $d/none\.key: No such file or directory" \
    "{ cert_file = \"$d/rsa.crt\"; key_file = \"$d/none.key\"; }"
bad "garbage certificate" "smtpd\.tls\.cert_file $d/garbage\.pem: no PEM certificate: " \
    "{ cert_file = \"$d/garbage.pem\"; key_file = \"$d/rsa.key\"; }"
bad "key in cert_file missing" "smtpd\.tls\.cert_file $d/rsa\.crt: no PEM private key for the certificate: " \
    "{ cert_file = \"$d/rsa.crt\"; }"
bad "key of another certificate" "smtpd\.tls\.key_file $d/rsa2\.key: no PEM private key for the certificate: key values mismatch" \
    "{ cert_file = \"$d/rsa.crt\"; key_file = \"$d/rsa2.key\"; }"
bad "RSA in the ECDSA slot" "smtpd\.tls\.ecdsa_cert_file $d/rsa2\.crt holds an RSA key, not an ECDSA one" \
    "{ cert_file = \"$d/rsa.crt\"; key_file = \"$d/rsa.key\"; ecdsa_cert_file = \"$d/rsa2.crt\"; ecdsa_key_file = \"$d/rsa2.key\"; }"
bad "two ECDSA certificates" "smtpd\.tls\.cert_file $d/ec\.crt holds an ECDSA key too" \
    "{ cert_file = \"$d/ec.crt\"; key_file = \"$d/ec.key\"; ecdsa_cert_file = \"$d/ec.crt\"; ecdsa_key_file = \"$d/ec.key\"; }"
bad "CA file without certificates" "smtpd\.tls\.ca_file $d/garbage\.pem: no PEM certificates: " \
    "{ cert_file = \"$d/rsa.crt\"; key_file = \"$d/rsa.key\"; ca_file = \"$d/garbage.pem\"; }"

note "the key in the certificate's file is fine"
cat "$d/rsa.crt" "$d/rsa.key" >"$d/both.pem"
conf_set smtpd.tls "{ cert_file = \"$d/both.pem\"; }"
sluice_conf
out=$("$SLUICE" check-config -c "$CONF" 2>&1) || fail "cert and key in one file: $out"
sluice_start
echo QUIT | tls_client -CAfile "$d/ca.crt" -verify_return_error >"$T/s_client.out"
grep -q '^221 2\.0\.0 ' "$T/s_client.out" || fail "cert and key in one file: $(tail -5 "$T/s_client.out")"
true
