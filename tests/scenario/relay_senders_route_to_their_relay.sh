# A relay with senders = [ "boss@corp.example", "sales.example" ]: mail from
# boss@corp.example or anyone @sales.example goes to the relay; mail from another
# corp.example sender goes to the recipient domain's MX.
. "$SCN/lib.sh"

zone_mx dst "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
peer_start relay 127.0.0.8
conf_set deliver.relays '( { address = "[127.0.0.8]:25"; senders = [ "boss@corp.example", "sales.example" ]; } )'
sluice_start

inject_swaks boss@corp.example u1@dst.example
inject_swaks clerk@corp.example u2@dst.example
inject_swaks anyone@sales.example u3@dst.example
wait_until '[ "$(peer_stat relay rcpts)" -ge 2 ] && [ "$(sink_rcpts mx)" -ge 1 ]' 30 \
    "2 recipients at the relay, 1 at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list relay | sort | tr '\n' ' ')" "u1@dst.example u3@dst.example " "recipients at the relay"
expect_eq "$(sink_rcpt_list mx | tr '\n' ' ')" "u2@dst.example " "recipients at the MX"
