# deliver.maxmessages = 3: ten messages for one destination, all due at once, travel at most
# 3 per connection, and all arrive.
. "$SCN/lib.sh"

zone_mx lim "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.maxmessages 3
sluice_start

note "injecting while the MX is down"
inject_many --messages 10 --domains lim.example --sessions 1
wait_until '[ "$(log_count "status=deferred")" -ge 10 ]' 30 "10 deferrals while the MX is down"
peer_start mx 127.0.0.20
wait_until '[ "$(peer_stat mx messages)" -ge 10 ]' 60 "10 messages at the MX"
wait_until queue_empty 20 "empty queue"
expect_le "$(peer_stat mx max_msgs_per_conn)" 3 "messages in one connection"
expect_eq "$(peer_rcpt_list mx | sort -u | wc -l)" 10 "distinct recipients at the MX"
