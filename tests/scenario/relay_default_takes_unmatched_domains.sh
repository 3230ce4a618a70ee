# A default relay beside a destdomains relay: mail for the destdomain goes to its relay,
# mail for every other domain to the default relay, none by MX (the MX in DNS would be wrong).
. "$SCN/lib.sh"

zone_mx other "10 wrong"
zone_a wrong 127.0.0.4
dns_start
sink_start wrong 127.0.0.4
peer_start dflt 127.0.0.7
peer_start special 127.0.0.8
conf_set deliver.relays '( { address = "[127.0.0.7]:25"; },
    { address = "[127.0.0.8]:25"; destdomains = [ "special.example" ]; } )'
sluice_start

inject_swaks sender@src.example u1@special.example,u2@other.example,u3@third.example
wait_until '[ "$(peer_stat dflt rcpts)" -ge 2 ] && [ "$(peer_stat special rcpts)" -ge 1 ]' 30 \
    "2 recipients at the default relay, 1 at the destdomains relay"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list special | tr '\n' ' ')" "u1@special.example " "recipients at the destdomains relay"
expect_eq "$(peer_rcpt_list dflt | sort | tr '\n' ' ')" "u2@other.example u3@third.example " "recipients at the default relay"
expect_eq "$(sink_msgs wrong)" 0 "transactions at the MX of other.example"
