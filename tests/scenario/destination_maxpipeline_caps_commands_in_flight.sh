# A deliver.policies block's maxpipeline = 3 for pipe.example (deliver.client.maxpipeline
# is 25): a message with 10 recipients to a peer that advertises PIPELINING (and answers
# slowly) never has more than 3 commands awaiting replies there, while other.example's peer
# sees more than 3 (the global depth).
. "$SCN/lib.sh"

zone_mx pipe "10 mx"
zone_a mx 127.0.0.20
zone_mx other "10 mxo"
zone_a mxo 127.0.0.21
dns_start
peer_start mx 127.0.0.20 --delay-ms 20
peer_start mxo 127.0.0.21 --delay-ms 20
conf_set deliver.client.maxpipeline 25
conf_set deliver.policies '( { match = [ "pipe.example" ]; maxpipeline = 3; } )'
sluice_start

rcpts=$(for i in $(seq 1 10); do printf 'r%d@pipe.example,' "$i"; done)
inject_swaks sender@src.example "${rcpts%,}"
rcpts=$(for i in $(seq 1 10); do printf 'r%d@other.example,' "$i"; done)
inject_swaks sender@src.example "${rcpts%,}"
wait_until '[ "$(peer_stat mx rcpts)" -ge 10 ]' 30 "10 recipients at pipe.example's MX"
wait_until '[ "$(peer_stat mxo rcpts)" -ge 10 ]' 30 "10 recipients at other.example's MX"
expect_le "$(peer_stat mx max_outstanding)" 3 "commands in flight to pipe.example"
[ "$(peer_stat mxo max_outstanding)" -gt 3 ] ||
    fail "commands in flight to other.example: got $(peer_stat mxo max_outstanding), want more than 3"
