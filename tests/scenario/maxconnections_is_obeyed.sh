# deliver.maxconnections = 2: mail for three domains, each with its own MX host (all three
# served by one peer that counts connections over all its addresses), due at once, never
# uses more than 2 simultaneous connections in total, and all of it arrives.
. "$SCN/lib.sh"

for i in 1 2 3; do
    zone_mx "d$i" "10 mx$i"
    zone_a "mx$i" "127.0.0.2$i"
done
dns_start
conf_set deliver.maxconnections 2
conf_set deliver.maxmessages 2
sluice_start

note "injecting while the MX hosts are down"
inject_many --messages 18 --domains d1.example,d2.example,d3.example --sessions 1
wait_until '[ "$(log_count "status=deferred")" -ge 18 ]' 30 "18 deferrals while the MX hosts are down"
peer_start mx 127.0.0.21 --listen 127.0.0.22:25 --listen 127.0.0.23:25 --delay-ms 30
wait_until '[ "$(peer_stat mx messages)" -ge 18 ]' 60 "18 messages at the MX hosts"
wait_until queue_empty 20 "empty queue"
expect_le "$(peer_stat mx peak)" 2 "peak simultaneous connections over all MX hosts"
expect_eq "$(peer_rcpt_list mx | sort -u | wc -l)" 18 "distinct recipients at the MX hosts"
