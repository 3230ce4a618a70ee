# deliver.queuecache = 4: the scheduler holds at most 4 recipients in its active window
# (routing, in a batch or in a transaction); the others wait until room frees up. So when 20
# recipients become due at once (a queue run after the MX came back) - one message with 10
# recipients and 10 one-recipient messages - no transaction carries more than 4 recipients
# (maxrecips is 50) and the MX never has more than 4 recipients in open transactions at once
# (maxserverconnections is 20), yet all 20 arrive. Without the window the 10-recipient
# message would go as one transaction and the 20 would be in flight together.
. "$SCN/lib.sh"

zone_mx win "10 mx"
zone_mx win2 "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.queuecache 4
conf_set deliver.interval '"1h"'
sluice_start

note "injecting while the MX is down"
inject_many --messages 1 --rcpts 10 --domains win.example --sessions 1
inject_many --messages 10 --rcpts 1 --domains win2.example --sessions 1
wait_until '[ "$(mailq_count deferred)" -eq 20 ]' 30 "20 deferred recipients (MX down)"

peer_start mx 127.0.0.20 --delay-ms 50
"$SLUICE" submit -c "$CONF" -q >"$T/q.out" 2>&1 || fail "submit -q: $(cat "$T/q.out")"
wait_until '[ "$(peer_stat mx rcpts)" -ge 20 ]' 60 "20 recipients at the MX"
wait_until queue_empty 20 "empty queue"
note "transactions: $(peer_stat mx messages), peak connections: $(peer_stat mx peak)," \
    "peak recipients in flight: $(peer_stat mx peak_rcpts)"
expect_le "$(peer_msg_rcpt_counts mx | sort -n | tail -1)" 4 "recipients in one transaction"
expect_le "$(peer_stat mx peak_rcpts)" 4 "recipients in open transactions at once at the MX"
expect_eq "$(peer_rcpt_list mx | sort -u | wc -l)" 20 "distinct recipients at the MX"
