# The harness itself, without sluice: nsd answers through dns.py (with its drop and SERVFAIL
# rules), smtp-sink dumps are counted per transaction, peer.py counts connections, messages,
# pipelining depth and answers chosen recipients with 4xx/5xx.
. "$SCN/lib.sh"

zone_mx d1 "10 mx1" "20 mx2"
zone_a mx1 127.0.0.2
zone_a mx2 127.0.0.3
zone_nullmx nullmx
zone_mx slow "10 mx1"
zone_mx broken "10 mx1"
dns_drop slow
dns_servfail broken
dns_start

note "DNS answers"
dns_query d1.example MX >"$T/q1"
grep -q '^rcode=0$' "$T/q1" || fail "d1 MX: $(cat "$T/q1")"
grep -q '^MX 10 mx1.example.$' "$T/q1" || fail "d1 MX: got $(cat "$T/q1"), want MX 10 mx1.example."
expect_eq "$(dns_query mx2.example A | tail -1)" "A 127.0.0.3" "mx2 A"
expect_eq "$(dns_query nullmx.example MX | tail -1)" "MX 0 ." "null MX"
expect_eq "$(dns_query nx.example MX | head -1)" "rcode=3" "NXDOMAIN rcode"
expect_eq "$(dns_query broken.example MX | head -1)" "rcode=2" "SERVFAIL rcode"
expect_eq "$(python3 "$SCN/dns.py" query x.slow.example MX --timeout 0.5)" "timeout" "dropped query"

note "smtp-sink dumps"
sink_start s1 127.0.0.2
swaks --server 127.0.0.2:25 --from a@src.example --to x@d1.example,y@d1.example --silent 2 ||
    fail "swaks to sink"
smtp-source -m 3 -f a@src.example -t z@d1.example 127.0.0.2:25 || fail "smtp-source to sink"
wait_until '[ "$(sink_rcpts s1)" = 5 ]' 10 "5 recipients at s1"
expect_eq "$(sink_msgs s1)" 4 "transactions at s1"
expect_eq "$(sink_txn_rcpts s1 | grep -c '^x@d1.example y@d1.example$')" 1 "two-recipient transaction"

note "peer.py"
peer_start p1 127.0.0.4 --reject-rcpt '^bad=550 5.1.1 no such user' \
    --tempfail-rcpt '^later=451 4.3.0 try later' --tempfail-times 1
swaks --server 127.0.0.4:25 --from a@src.example --to ok@d1.example --pipeline --silent 2 ||
    fail "swaks to peer"
swaks --server 127.0.0.4:25 --from a@src.example --to bad@d1.example --silent 2 &&
    fail "bad@ was accepted"
swaks --server 127.0.0.4:25 --from a@src.example --to later@d1.example --silent 2 &&
    fail "later@ accepted the first time"
swaks --server 127.0.0.4:25 --from a@src.example --to later@d1.example --silent 2 ||
    fail "later@ refused the second time"
wait_until '[ "$(peer_stat p1 conns)" = 4 ]' 10 "4 connections logged by p1"
expect_eq "$(peer_stat p1 messages)" 2 "messages at p1"
expect_eq "$(peer_stat p1 rejected)" 2 "rejected recipients at p1"
expect_eq "$(peer_rcpt_list p1 | sort | tr '\n' ' ')" "later@d1.example ok@d1.example " "recipients at p1"
out=$(peer_stat p1 max_outstanding)
[ "$out" -ge 3 ] || fail "pipelining depth with swaks --pipeline: got $out, want >= 3"

peer_start p2 127.0.0.5 --max-connections 1 --delay-ms 300
swaks --server 127.0.0.5:25 --from a@src.example --to a@d1.example --silent 2 >/dev/null &
first=$!
wait_until '[ "$(ss -Htn state established "( sport = :25 )" dst 127.0.0.1 | grep -c 127.0.0.5)" -ge 1 ]' 10 "first connection to p2"
swaks --server 127.0.0.5:25 --from a@src.example --to b@d1.example --silent 2 && fail "p2 took a second connection"
wait $first || fail "first connection to p2 failed"
expect_eq "$(peer_stat p2 refused)" 1 "connections refused by p2"
expect_eq "$(peer_stat p2 peak)" 1 "peak connections at p2"

peer_start p3 127.0.0.6 --refuse
port_open 127.0.0.6 25 && fail "--refuse peer accepts connections"
note "harness ok"
