# Sender routing takes precedence over destination routing (seed 000 §4.5.4): with relay A
# for destdomain dst.example, relay B for senders vip.example and relay C for sendernets
# 127.0.0.50/32, mail to dst.example from vip.example goes to B, from 127.0.0.50 to C, and
# from anyone else to A.
. "$SCN/lib.sh"

peer_start A 127.0.0.7
peer_start B 127.0.0.8
peer_start C 127.0.0.9
conf_set deliver.relays '( { address = "[127.0.0.7]:25"; destdomains = [ "dst.example" ]; },
    { address = "[127.0.0.8]:25"; senders = [ "vip.example" ]; },
    { address = "[127.0.0.9]:25"; sendernets = [ "127.0.0.50/32" ]; } )'
sluice_start

inject_swaks x@vip.example u1@dst.example
inject_swaks y@other.example u2@dst.example
inject_swaks z@other.example u3@dst.example --local-interface 127.0.0.50
wait_until '[ "$(peer_stat A rcpts)" -ge 1 ] && [ "$(peer_stat B rcpts)" -ge 1 ] && [ "$(peer_stat C rcpts)" -ge 1 ]' 30 \
    "1 recipient at each relay"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list B | tr '\n' ' ')" "u1@dst.example " "recipients at the senders relay B"
expect_eq "$(peer_rcpt_list A | tr '\n' ' ')" "u2@dst.example " "recipients at the destdomains relay A"
expect_eq "$(peer_rcpt_list C | tr '\n' ' ')" "u3@dst.example " "recipients at the sendernets relay C"
