# Domain block lists (docs/policy.md, smtpd.rhsbl, as Postfix's reject_rhsbl_sender /
# reject_rhsbl_helo / reject_rhsbl_client) served by the test DNS (nsd): the sender's domain
# (looked up at MAIL), the HELO name and the client's verified name are asked in each list;
# a listed name adds the list's weight to the DNSBL score, and at dnsbl_threshold the RCPT
# gets 554 5.7.1 "Service unavailable; Sender address [S] blocked using LIST" (Helo command
# [H], Client host [NAME]) with a NOQUEUE line naming the list. A list that never answers
# (counted 0 after dnsbl_timeout) and a list below the threshold do not refuse mail.
. "$SCN/lib.sh"

REV=0.0.127.in-addr.arpa
# lib.sh serves only the zone "example.": keep its dns_write and add the reverse zone.
eval "lib_dns_write() $(declare -f dns_write | tail -n +2)"
dns_write() {
    lib_dns_write
    local d=$T/dns
    printf 'zone:\n  name: "%s."\n  zonefile: "%s.zone"\n' "$REV" "$REV" >>"$d/nsd.conf"
    {
        echo "\$TTL 60"
        echo "$REV. 60 IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60"
        echo "$REV. 60 IN NS ns.$ZONE."
        echo "7.$REV. 60 IN PTR host.badclient.example."
    } >"$d/$REV.zone"
}
zone_a host.badclient 127.0.0.7

zone_rr "spam.example.dbl.example." 60 IN A 127.0.1.2
zone_rr "bad-helo.example.dbl.example." 60 IN A 127.0.1.2
zone_rr "host.badclient.example.dbl.example." 60 IN A 127.0.1.2
zone_rr "half.example.small.example." 60 IN A 127.0.1.2
dns_drop slow.example.
dns_log
dns_start
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.local_domains '[ "local.test" ]'
conf_set smtpd.rhsbl '[ "dbl.example=127.0.1.[2..99]*2", "small.example", "slow.example*5" ]'
conf_set smtpd.dnsbl_threshold 2
conf_set smtpd.dnsbl_timeout '"1s"'
sluice_start

rcpt() { # rcpt IP HELO FROM: the RCPT reply
    swaks --server 127.0.0.1:2525 --local-interface "$1" --helo "$2" --from "$3" \
        --to u@local.test --quit-after RCPT >"$T/swaks.out" 2>&1
    sed -n 's/^<[-~*]* *\(.*\)/\1/p' "$T/swaks.out" | tail -2 | head -1
}
note "sender domain listed"
expect_eq "$(rcpt 127.0.0.1 client.test a@spam.example)" \
    "554 5.7.1 Service unavailable; Sender address [a@spam.example] blocked using dbl.example" \
    "listed sender domain"
log_has 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 Service unavailable; Sender address \[a@spam\.example\] blocked using dbl\.example; from=<a@spam\.example> to=<u@local\.test> proto=ESMTP helo=<client\.test> rule=<rhsbl dbl\.example score 2>' ||
    fail "no NOQUEUE line: $(grep NOQUEUE "$SLUICE_LOG")"
note "HELO name listed"
expect_eq "$(rcpt 127.0.0.1 bad-helo.example a@clean.example)" \
    "554 5.7.1 Service unavailable; Helo command [bad-helo.example] blocked using dbl.example" \
    "listed HELO name"
note "client's verified name listed"
expect_eq "$(rcpt 127.0.0.7 client.test a@clean.example)" \
    "554 5.7.1 Service unavailable; Client host [host.badclient.example] blocked using dbl.example" \
    "listed client name"
note "below the threshold; a list that times out counts 0"
expect_eq "$(rcpt 127.0.0.1 client.test a@half.example)" "250 2.1.5 Ok" "small (1) < 2, slow timed out"
log_has 'rhsbl: slow\.example: no answer for \[half\.example\] within dnsbl_timeout' ||
    fail "no timeout line: $(grep rhsbl "$SLUICE_LOG")"
note "cached: the refusal again without a new lookup"
asked() { grep -c ' spam\.example\.dbl\.example\.\? ' "$T/dns/queries" || true; }
n=$(asked)
[ "$n" -ge 1 ] || fail "the sender domain was never asked: $(cat "$T/dns/queries")"
expect_eq "$(rcpt 127.0.0.1 client.test b@spam.example)" \
    "554 5.7.1 Service unavailable; Sender address [b@spam.example] blocked using dbl.example" \
    "listed sender domain again"
expect_eq "$(asked)" "$n" "queries for spam.example.dbl.example after the cached answer"
sluice_alive || fail "sluice died"
sluice_stop
