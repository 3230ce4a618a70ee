# Real peers on both sides of AUTH: sluice checks passwords with a private Dovecot
# (smtpd.auth backend "dovecot", its auth-client socket, passdb passwd-file), and a private
# Postfix whose smtp client has smtp_sasl_auth_enable = yes and smtp_tls_security_level =
# encrypt relays through sluice as an untrusted client: it must STARTTLS, then AUTH (Cyrus
# SASL PLAIN/LOGIN from libsasl2-modules), then sluice relays to the MX. The Received header
# names the user, Dovecot's log shows it checked the wrong password, and a Postfix with a wrong password gets
# 535 (Postfix defers the message, nothing reaches the MX).
. "$SCN/lib.sh"

[ -x /usr/sbin/dovecot ] || fail "dovecot-core is not installed (scripts/install-deps)"
zone_mx far "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert server rsa
tls_use server

dv=$T/dovecot
mkdir -p "$dv/run" "$dv/state"
chmod 755 "$dv"
printf 'alice:{PLAIN}wonderland\n' >"$dv/passwd"
chmod 0644 "$dv/passwd"
cat >"$dv/dovecot.conf" <<EOC
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/dovecot.log
auth_verbose = yes
protocols =
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = $dv/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  unix_listener $dv/auth-client {
    mode = 0666
  }
}
EOC
bg_start dovecot /usr/sbin/dovecot -F -c "$dv/dovecot.conf"
wait_until "[ -S '$dv/auth-client' ]" 20 "dovecot's auth-client socket"

conf_set smtpd.trusted_networks '[ "10.9.9.9/32" ]'
conf_set smtpd.auth "{ backend = \"dovecot\"; path = \"$dv/auth-client\"; failure_delay = \"0\"; }"
sluice_start

# Postfix's smtp client, relaying everything to sluice with TLS and SASL
pf_client() {
    postfix_start "$1" "$2" "relayhost = [127.0.0.1]:$SMTP_PORT" \
        'smtp_tls_security_level = encrypt' "smtp_tls_CAfile = $T/tls/ca.crt" \
        'smtp_sasl_auth_enable = yes' 'smtp_sasl_security_options = noanonymous' \
        'smtp_sasl_tls_security_options = noanonymous' \
        "smtp_sasl_password_maps = inline:{ [127.0.0.1]:$SMTP_PORT=alice:$3 }" \
        'smtp_tls_loglevel = 1' 'smtp_host_lookup = native' 'disable_dns_lookups = yes'
}
pf_client client 127.0.0.20 wonderland
printf 'Subject: postfix sasl\n\nrelayed with SASL through sluice\n' |
    sendmail -C "$T/postfix/client/etc" -f sender@src.example u1@far.example ||
    fail "postfix sendmail failed"
PFLOG=$(postfix_log client)
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 60 "the message at the MX (Postfix -> sluice with AUTH)"
grep -Eq "status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)" "$PFLOG" || fail "Postfix did not log sent: $(grep 'status=' "$PFLOG")"
grep -Eq "TLS connection established to 127\.0\.0\.1" "$PFLOG" || fail "Postfix did not use TLS"
f=$(grep -l '^Subject: postfix sasl' "$T/sinks/mx"/t.*)
grep -q '^	(authenticated as alice)' "$f" || fail "Received: $(grep -A5 '^Received: from client' "$f")"
grep -Eq '^	by sluice\.example \(sluice\) with ESMTPSA id ' "$f" || fail "not ESMTPSA"
log_has 'sasl_method=(PLAIN|LOGIN), sasl_username=alice, from=<sender@src\.example>' ||
    fail "sluice's message line: $(grep 'from=<sender' "$SLUICE_LOG")"

note "a wrong password: 535, Postfix keeps the message"
pf_client wrongpw 127.0.0.21 wrong
printf 'Subject: postfix bad sasl\n\nnot relayed\n' |
    sendmail -C "$T/postfix/wrongpw/etc" -f sender@src.example u2@far.example ||
    fail "postfix sendmail failed"
wait_until "grep -q 'SASL authentication failed' '$(postfix_log wrongpw)'" 60 "Postfix's SASL failure"
grep -q '535 5\.7\.8' "$(postfix_log wrongpw)" || fail "no 535 in Postfix's log: $(grep -i sasl "$(postfix_log wrongpw)" | tail -2)"
log_has 'AUTH failed, sasl_method=(PLAIN|LOGIN), sasl_username=alice' || fail "no failure line"
grep -q '^Subject: postfix bad sasl' "$T/sinks/mx"/t.* && fail "relayed without AUTH"
grep -qi 'passwd-file(alice,127\.0\.0\.1.*mismatch' "$dv/dovecot.log" ||
    fail "Dovecot did not check the password: $(tail -3 "$dv/dovecot.log")"
true
