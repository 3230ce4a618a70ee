# destdomains patterns, evaluated in order, the first match deciding (FML's CF style GW/NGW
# + DOM rules, docs/routing.md): a GW relay for or.example and its subdomains, then an NGW
# relay for every domain except co.example and its subdomains, which go to their MX; and,
# first, a relay for *.ex.example except !sub.ex.example (listed before it): that domain is
# only excluded from this relay, so the next rule (the NGW relay) takes it.
. "$SCN/lib.sh"

zone_mx foo.co "10 mx"
zone_mx co "10 mx"
zone_mx sub.ex "10 wrong"
zone_mx foo.or "10 wrong"
zone_mx phys.ac "10 wrong"
zone_a mx 127.0.0.3
zone_a wrong 127.0.0.4
dns_start
sink_start mx 127.0.0.3
sink_start wrong 127.0.0.4
peer_start ex 127.0.0.70
peer_start gw 127.0.0.71
peer_start ngw 127.0.0.72
conf_set deliver.relays '( { address = "[127.0.0.70]"; destdomains = [ "!sub.ex.example", "*.ex.example" ]; },
    { address = "[127.0.0.71]"; destdomains = [ "or.example", ".or.example" ]; },
    { address = "[127.0.0.72]"; destdomains = [ "!co.example", "!.co.example", "*" ]; } )'
sluice_start

inject_swaks sender@src.example u1@or.example,u2@foo.or.example,u3@phys.ac.example,u4@foo.co.example,u5@co.example,u6@www.ex.example,u7@sub.ex.example,u8@a.sub.ex.example
wait_until '[ $(( $(peer_stat ex rcpts) + $(peer_stat gw rcpts) + $(peer_stat ngw rcpts) + $(sink_rcpts mx) )) -ge 8 ]' 30 \
    "8 recipients delivered"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list gw | sort | tr '\n' ' ')" "u1@or.example u2@foo.or.example " "at the GW relay (or.example, .or.example)"
expect_eq "$(peer_rcpt_list ngw | sort | tr '\n' ' ')" "u3@phys.ac.example u7@sub.ex.example " "at the NGW relay (all but co.example)"
expect_eq "$(peer_rcpt_list ex | sort | tr '\n' ' ')" "u6@www.ex.example u8@a.sub.ex.example " "at the *.ex.example relay"
expect_eq "$(sink_rcpt_list mx | sort | tr '\n' ' ')" "u4@foo.co.example u5@co.example " "co.example and its subdomains at their MX"
expect_eq "$(sink_msgs wrong)" 0 "transactions at the MX of relayed domains"
