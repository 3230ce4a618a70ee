# deliver.maxrecips = 2: one message with 5 recipients in one domain arrives as transactions
# of at most 2 recipients each, every recipient exactly once.
. "$SCN/lib.sh"

zone_mx lim "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
conf_set deliver.maxrecips 2
sluice_start

inject_swaks sender@src.example r1@lim.example,r2@lim.example,r3@lim.example,r4@lim.example,r5@lim.example
wait_until '[ "$(peer_stat mx rcpts)" -ge 5 ]' 30 "5 recipients at the MX"
wait_until queue_empty 20 "empty queue"
expect_le "$(peer_stat mx max_rcpts_per_txn)" 2 "recipients in one transaction"
expect_eq "$(peer_rcpt_list mx | sort | tr '\n' ' ')" \
    "r1@lim.example r2@lim.example r3@lim.example r4@lim.example r5@lim.example " \
    "recipients at the MX"
