# A remotenet (127.0.0.5/32) with maxpipeline = 1: although the peer advertises PIPELINING,
# sluice waits for every reply before the next command there. A peer outside the remotenet
# (127.0.0.6) still gets pipelined commands (maxpipeline 25 by default).
. "$SCN/lib.sh"

zone_mx slow "10 mx5"
zone_mx fast "10 mx6"
zone_a mx5 127.0.0.5
zone_a mx6 127.0.0.6
dns_start
peer_start mx5 127.0.0.5 --delay-ms 20
peer_start mx6 127.0.0.6 --delay-ms 20
conf_set deliver.client.remotenets '( { ip = [ "127.0.0.5/32" ]; maxpipeline = 1; } )'
sluice_start

inject_swaks sender@src.example a@slow.example,b@slow.example,c@slow.example,d@slow.example
inject_swaks sender@src.example a@fast.example,b@fast.example,c@fast.example,d@fast.example
wait_until '[ "$(peer_stat mx5 rcpts)" -ge 4 ] && [ "$(peer_stat mx6 rcpts)" -ge 4 ]' 30 \
    "4 recipients at each peer"
expect_eq "$(peer_stat mx5 max_outstanding)" 1 "commands in flight at the maxpipeline=1 peer"
out=$(peer_stat mx6 max_outstanding)
[ "$out" -gt 1 ] || fail "commands in flight at the default peer: got $out, want > 1 (pipelining)"
expect_eq "$(peer_stat mx6 errors)$(peer_stat mx5 errors)" 00 "protocol errors seen by the peers"
