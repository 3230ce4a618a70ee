# Session resumption (seed 002 tls-use-scache): a client that kept its session (openssl
# s_client -sess_out) resumes it on the next connection (-sess_in: "Reused"), over TLS 1.3
# and TLS 1.2; the ticket's lifetime hint is smtpd.tls.session_timeout, and the log says
# resumed=yes. A ticket issued before a SIGHUP still resumes after it (the ticket keys are
# carried over). With session_timeout "0" no ticket is issued and no session is cached, so
# the client has nothing to resume.
. "$SCN/lib.sh"

tls_make_cert server rsa
conf_set smtpd.tls "{ cert_file = \"$T/tls/server.crt\"; key_file = \"$T/tls/server.key\"; session_timeout = \"2h\"; }"
sluice_start

# session NAME s_client-options...: one STARTTLS session (EHLO, QUIT) into $T/NAME.out
session() {
    local name=$1
    shift
    printf 'EHLO c.example\nQUIT\n' | tls_client_full -CAfile "$T/tls/ca.crt" "$@" >"$T/$name.out"
    grep -q '221 2\.0\.0 ' "$T/$name.out" || fail "$name: no 221: $(tail -5 "$T/$name.out")"
}
session first13 -tls1_3 -sess_out "$T/s13"
grep -q '^New, TLSv1\.3' "$T/first13.out" || fail "first TLS 1.3 session not new"
grep -q 'TLS session ticket lifetime hint: 7200 (seconds)' "$T/first13.out" ||
    fail "ticket lifetime: $(grep -i 'lifetime' "$T/first13.out")"
session again13 -tls1_3 -sess_in "$T/s13"
grep -q '^Reused, TLSv1\.3' "$T/again13.out" || fail "TLS 1.3 session not resumed: $(grep -E '^(New|Reused)' "$T/again13.out")"
session first12 -tls1_2 -sess_out "$T/s12"
session again12 -tls1_2 -sess_in "$T/s12"
grep -q '^Reused, TLSv1\.2' "$T/again12.out" || fail "TLS 1.2 session not resumed: $(grep -E '^(New|Reused)' "$T/again12.out")"
expect_eq "$(log_count 'TLS established \(STARTTLS\): .* resumed=yes ')" 2 "resumed sessions in the log"

note "a ticket from before SIGHUP resumes after it"
kill -HUP "$SLUICE_PID"
wait_until "log_has 'smtpd: TLS certificates reloaded'" 10 "the reload"
session after_hup -tls1_3 -sess_in "$T/s13"
grep -q '^Reused, TLSv1\.3' "$T/after_hup.out" || fail "ticket not resumed after SIGHUP"

note "session_timeout 0: no resumption"
sluice_stop
conf_set smtpd.tls "{ cert_file = \"$T/tls/server.crt\"; key_file = \"$T/tls/server.key\"; session_timeout = \"0\"; }"
rm -f "$CONF"
sluice_start
for v in 1_3 1_2; do
    session "off$v" "-tls$v" -sess_out "$T/off$v"
    grep -q 'TLS session ticket' "$T/off$v.out" && fail "a TLS $v ticket with session_timeout 0"
    [ -s "$T/off$v" ] && fail "TLS $v: the client got a resumable session with session_timeout 0"
done
true
