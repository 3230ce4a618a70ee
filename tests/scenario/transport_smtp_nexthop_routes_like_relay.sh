# Transport map "smtp:" next hops route their domains like relays, ahead of deliver.relays
# and MX: a.example to "smtp:[127.0.0.7]:2526" (literal address and port), n.example to
# "smtp:[named.example]:2527" (brackets: the A record of named.example, no MX lookup).
# Their MX ("wrong") and the default relay get nothing; c.example (not in the map) goes to
# the default relay.
. "$SCN/lib.sh"

zone_mx a "10 wrong"
zone_mx n "10 wrong"
zone_mx named "10 wrong"
zone_a wrong 127.0.0.4
zone_a named 127.0.0.10
dns_start
sink_start wrong 127.0.0.4
peer_start p7 127.0.0.7:2526
peer_start p10 127.0.0.10:2527
peer_start dflt 127.0.0.11:2528
conf_set transport '( { domains = [ "a.example" ]; nexthop = "smtp:[127.0.0.7]:2526"; },
    { domains = [ "n.example" ]; nexthop = "smtp:[named.example]:2527"; } )'
conf_set deliver.relays '( { address = "[127.0.0.11]:2528"; } )'
sluice_start

inject_swaks sender@src.example u1@a.example,u2@n.example,u3@c.example
wait_until '[ "$(peer_stat p7 rcpts)" -ge 1 ] && [ "$(peer_stat p10 rcpts)" -ge 1 ] && [ "$(peer_stat dflt rcpts)" -ge 1 ]' 30 \
    "one recipient at each next hop and at the default relay"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list p7 | tr '\n' ' ')" "u1@a.example " "recipients at smtp:[127.0.0.7]:2526"
expect_eq "$(peer_rcpt_list p10 | tr '\n' ' ')" "u2@n.example " "recipients at smtp:[named.example]:2527"
expect_eq "$(peer_rcpt_list dflt | tr '\n' ' ')" "u3@c.example " "recipients at the default relay"
expect_eq "$(sink_msgs wrong)" 0 "transactions at the MX of a.example and n.example"
log_has 'to=<u1@a\.example>.*relay=[^ ]*\[127\.0\.0\.7\]:2526.*status=sent' ||
    fail "no log line: to=<u1@a.example>, relay=...[127.0.0.7]:2526, ... status=sent"
