# A relay with sendernets = [ "127.0.0.50/32" ]: mail submitted from 127.0.0.50 goes to the
# relay; the same mail submitted from 127.0.0.1 goes to the recipient domain's MX.
. "$SCN/lib.sh"

zone_mx dst "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
peer_start relay 127.0.0.8
conf_set deliver.relays '( { address = "[127.0.0.8]:25"; sendernets = [ "127.0.0.50/32" ]; } )'
sluice_start

inject_swaks sender@src.example u1@dst.example --local-interface 127.0.0.50
inject_swaks sender@src.example u2@dst.example --local-interface 127.0.0.1
wait_until '[ "$(peer_stat relay rcpts)" -ge 1 ] && [ "$(sink_rcpts mx)" -ge 1 ]' 30 \
    "1 recipient at the relay, 1 at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list relay | tr '\n' ' ')" "u1@dst.example " "recipients at the relay"
expect_eq "$(sink_rcpt_list mx | tr '\n' ' ')" "u2@dst.example " "recipients at the MX"
