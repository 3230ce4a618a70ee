# A recipient domain whose MX lookup times out (the DNS server never answers for it) is
# deferred, not bounced: mailq shows it deferred with a DNS reason.
. "$SCN/lib.sh"

zone_mx slow "10 mx"
zone_a mx 127.0.0.3
dns_drop slow
dns_start
sluice_start

inject_swaks sender@src.example u1@slow.example
wait_until '[ "$(mailq_field u1@slow.example 5)" = deferred ]' 90 "mailq: u1@slow.example deferred"
last=$(mailq_field u1@slow.example 8)
echo "$last" | grep -Eqi 'dns|resolv|lookup|servfail|time.?out|mx' ||
    fail "mailq LAST of u1@slow.example: got '$last', want a DNS reason"
log_has 'to=<u1@slow\.example>.*status=deferred' || fail "no log line: to=<u1@slow.example> ... status=deferred"
expect_eq "$(log_count 'to=<u1@slow\.example>.*status=bounced')" 0 "bounces of u1@slow.example"
