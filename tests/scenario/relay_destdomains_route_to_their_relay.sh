# Relays with destdomains: mail for a.example and b.example goes to the relay at
# [127.0.0.7]:2526 (port honoured), mail for n.example to the relay named relayhost.example
# (A record 127.0.0.10, port 2527), mail for any other domain to its MX.
. "$SCN/lib.sh"

zone_mx c "10 mx"
zone_a mx 127.0.0.3
zone_a relayhost 127.0.0.10
zone_mx a "10 wrong"
zone_mx n "10 wrong"
zone_a wrong 127.0.0.4
dns_start
sink_start mx 127.0.0.3
sink_start wrong 127.0.0.4
peer_start relay7 127.0.0.7:2526
peer_start relay10 127.0.0.10:2527
conf_set deliver.relays '( { address = "[127.0.0.7]:2526"; destdomains = [ "a.example", "b.example" ]; },
    { address = "relayhost.example:2527"; destdomains = [ "n.example" ]; } )'
sluice_start

inject_swaks sender@src.example u1@a.example,u2@b.example,u3@c.example,u4@n.example
wait_until '[ "$(peer_stat relay7 rcpts)" -ge 2 ] && [ "$(sink_rcpts mx)" -ge 1 ] && [ "$(peer_stat relay10 rcpts)" -ge 1 ]' 30 \
    "2 recipients at relay7, 1 at relay10, 1 at the MX of c.example"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list relay7 | sort | tr '\n' ' ')" "u1@a.example u2@b.example " "recipients at [127.0.0.7]:2526"
expect_eq "$(peer_rcpt_list relay10 | tr '\n' ' ')" "u4@n.example " "recipients at relayhost.example:2527"
expect_eq "$(sink_rcpt_list mx | tr '\n' ' ')" "u3@c.example " "recipients at the MX of c.example"
expect_eq "$(sink_msgs wrong)" 0 "transactions at the MX of a.example and n.example"
log_has 'to=<u1@a\.example>.*relay=[^ ]*\[127\.0\.0\.7\]:2526.*status=sent' ||
    fail "no log line: to=<u1@a.example>, relay=...[127.0.0.7]:2526, ... status=sent"
