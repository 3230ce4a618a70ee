# deliver.maxserverconnections = 2: sixteen messages for one destination, all due at once
# (the MX was down when they arrived), never use more than 2 simultaneous connections to it,
# and all arrive.
. "$SCN/lib.sh"

zone_mx lim "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.maxserverconnections 2
conf_set deliver.maxmessages 2
sluice_start

note "injecting while the MX is down"
inject_many --messages 16 --domains lim.example --sessions 1
wait_until '[ "$(log_count "status=deferred")" -ge 16 ]' 30 "16 deferrals while the MX is down"
peer_start mx 127.0.0.20 --delay-ms 50
wait_until '[ "$(peer_stat mx messages)" -ge 16 ]' 60 "16 messages at the MX"
wait_until queue_empty 20 "empty queue"
expect_le "$(peer_stat mx peak)" 2 "peak simultaneous connections at the MX"
expect_eq "$(peer_rcpt_list mx | sort -u | wc -l)" 16 "distinct recipients at the MX"
