# Fairness (issue 13, point 6): one destination answers every reply after 1 s; five others
# answer at once. With maxconnections 4 (the slow one may take 2 of them), every message to
# the fast destinations arrives while the slow one still holds its connections (ordering,
# not timing), and every fast destination got its share of the slots. Then the slow one
# finishes too.
. "$SCN/lib.sh"

zone_mx slow "10 mx-slow"
zone_a mx-slow 127.0.0.30
fast=""
for i in 1 2 3 4 5; do
    zone_mx "fast$i" "10 mx-fast$i"
    zone_a "mx-fast$i" "127.0.0.3$i"
    fast="$fast,fast$i.example"
done
dns_start
conf_set deliver.maxconnections 4
conf_set deliver.maxserverconnections 2
conf_set deliver.maxmessages 10
peer_start slow 127.0.0.30 --delay-ms 1000
peer_start fast 127.0.0.31:25 --listen 127.0.0.32:25 --listen 127.0.0.33:25 \
    --listen 127.0.0.34:25 --listen 127.0.0.35:25
sluice_start

note "6 messages to the slow destination, then 250 to the fast ones"
inject_many --messages 6 --domains slow.example --sessions 1
inject_many --messages 250 --domains "${fast#,}" --sessions 2 --per-conn 50
wait_until '[ "$(peer_stat fast messages)" -ge 250 ]' 60 "250 messages at the fast MX"
slow_done=$(peer_stat slow messages)
note "fast destinations done; the slow one has $slow_done of 6"
expect_le "$slow_done" 5 "slow messages delivered before the fast ones were all done"
for i in 1 2 3 4 5; do
    got=$(peer_rcpt_list fast | grep -c "@fast$i\.example$")
    expect_eq "$got" 50 "messages at fast$i.example"
done
wait_until '[ "$(peer_stat slow messages)" -ge 6 ]' 120 "6 messages at the slow MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(log_count 'status=bounced')" 0 "bounces"
