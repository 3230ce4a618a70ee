# LMTP over TCP to Dovecot's real LMTP server: the transport map sends lmtp.example to
# "lmtp:inet:127.0.0.1:2424" (no DNS: a literal address). deliver.maxrecips = 2 applies to
# the LMTP destination as to SMTP ones: three recipients go in two LMTP transactions
# (the daemon's stats at exit count two), and every one of the three users finds the message in the mailbox (doveadm fetch).
. "$SCN/lib.sh"

dns_start
dovecot_lmtp_start dl 2424 u1 u2 u3
conf_set transport '( { domains = [ "lmtp.example" ]; nexthop = "lmtp:inet:127.0.0.1:2424"; } )'
conf_set deliver.maxrecips 2
sluice_start

inject_swaks sender@src.example u1@lmtp.example,u2@lmtp.example,u3@lmtp.example
wait_until '[ "$(log_count "to=<u[123]@lmtp\.example>.*status=sent")" -ge 3 ]' 30 "3 recipients sent"
wait_until queue_empty 20 "empty queue"
log_has 'to=<u1@lmtp\.example>.*relay=[^ ]*\[127\.0\.0\.1\]:2424.*status=sent' ||
    fail "no status=sent line naming 127.0.0.1:2424: $(grep 'u1@' "$SLUICE_LOG")"
for u in u1 u2 u3; do
    out=$(dovecot_fetch dl $u) || fail "doveadm fetch $u: $out"
    expect_eq "$(echo "$out" | grep -c '^hdr.subject:')" 1 "messages in $u's mailbox"
done
sluice_stop
log_has 'stats: .* transactions=2 ' || fail "want 2 transactions: $(grep 'stats:' "$SLUICE_LOG")"
