# An RSA and an ECDSA certificate at once (smtpd.tls cert_file + ecdsa_cert_file): a client
# that only accepts ECDSA signatures (openssl s_client -sigalgs, TLS 1.3) or ECDSA cipher
# suites (-cipher, TLS 1.2) gets the ECDSA certificate, one that only accepts RSA gets the
# RSA one; a client that takes both gets one of them. The log names both serials. The
# certificate files hold only the leaf: ca_file completes the chain the client receives.
. "$SCN/lib.sh"

tls_make_cert rsa rsa
tls_make_cert ec ecdsa
conf_set smtpd.tls "{ cert_file = \"$T/tls/rsa.crt\"; key_file = \"$T/tls/rsa.key\";
    ecdsa_cert_file = \"$T/tls/ec.crt\"; ecdsa_key_file = \"$T/tls/ec.key\"; ca_file = \"$T/tls/ca.crt\"; }"
sluice_start
rsa=$(tls_serial "$T/tls/rsa.crt")
ec=$(tls_serial "$T/tls/ec.crt")
log_has "TLS certificates: RSA serial $rsa, ECDSA serial $ec" || fail "certificates line: $(grep certificates "$SLUICE_LOG")"

# served SERIAL-WANTED WHAT s_client-options...: the certificate the server presents
served() {
    local want=$1 what=$2
    shift 2
    echo QUIT | tls_client_full -verify_return_error -CAfile "$T/tls/ca.crt" "$@" >"$T/s_client.out"
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$T/s_client.out" >"$T/peer.crt"
    [ -s "$T/peer.crt" ] || fail "$what: no certificate: $(tail -5 "$T/s_client.out")"
    expect_eq "$(tls_serial "$T/peer.crt")" "$want" "$what: serial of the certificate served"
    grep -q '221 2\.0\.0 ' "$T/s_client.out" || fail "$what: no 221 after QUIT: $(tail -5 "$T/s_client.out")"
}
served "$ec" "TLS 1.3, ECDSA signatures only" -tls1_3 -sigalgs ECDSA+SHA256
served "$rsa" "TLS 1.3, RSA signatures only" -tls1_3 -sigalgs rsa_pss_rsae_sha256:RSA-PSS+SHA384
served "$ec" "TLS 1.2, ECDHE-ECDSA suite" -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
served "$rsa" "TLS 1.2, ECDHE-RSA suite" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
log_count 'TLS established \(STARTTLS\): tls=TLSv1\.2/ECDHE-ECDSA-AES128-GCM-SHA256' | grep -qx 1 ||
    fail "no TLS 1.2 ECDSA session logged"
log_count 'TLS established \(STARTTLS\): tls=TLSv1\.2/ECDHE-RSA-AES128-GCM-SHA256' | grep -qx 1 ||
    fail "no TLS 1.2 RSA session logged"
echo QUIT | tls_client_full -showcerts >"$T/chain.out"
grep -Eq '^ 1 s:.*CN ?= ?sluice test CA' "$T/chain.out" || fail "no CA in the chain served: $(grep -E '^ [0-9] s:' "$T/chain.out")"
true
