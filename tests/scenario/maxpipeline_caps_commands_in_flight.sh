# deliver.client.maxpipeline = 3: a message with 10 recipients to a peer that advertises
# PIPELINING (and answers slowly) never has more than 3 commands awaiting replies.
. "$SCN/lib.sh"

zone_mx pipe "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --delay-ms 20
conf_set deliver.client.maxpipeline 3
sluice_start

rcpts=$(for i in $(seq 1 10); do printf 'r%d@pipe.example,' "$i"; done)
inject_swaks sender@src.example "${rcpts%,}"
wait_until '[ "$(peer_stat mx rcpts)" -ge 10 ]' 30 \
    "10 recipients at the MX"
expect_le "$(peer_stat mx max_outstanding)" 3 "commands in flight"
expect_eq "$(peer_stat mx errors)" 0 "protocol errors seen by the peer"
