# The etiquette test (issue 13, point 5, small): a receiver that allows 2 connections per
# client address, 100 messages per connection, and 50 messages per second (421 4.7.0 "too
# many connections" past the first two, 421 past the hundredth message, "451 4.7.1 rate
# limited" past 50 a second). With a deliver.policies block that states those limits, 1,000
# messages all arrive, nothing bounces, no connection is refused or cut short, no message
# is rate limited (zero waste), and the rate stays at or below 50 in every second.
# Throughput against the limit is measured by the bench (bench/run shaping), not here.
. "$SCN/lib.sh"

zone_mx lim "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.policies '( { match = [ "lim.example" ]; maxserverconnections = 2;
    maxmessages = 100; msgs_per_second = 50.0; } )'
conf_set deliver.queuecache 5000
peer_start mx 127.0.0.20 --max-connections-per-ip 2 --max-messages-per-conn 100 \
    --max-msgs-per-second 50
sluice_start
out=$("$SLUICE" check-config -c "$CONF" --explain lim.example)
case $out in *"maxserverconnections = 2  # deliver.policies[0]"*) ;;
    *) fail "check-config --explain: got $out" ;; esac

note "injecting 1000 messages"
inject_many --messages 1000 --domains lim.example --sessions 4 --per-conn 100
wait_until '[ "$(peer_stat mx messages)" -ge 1000 ]' 120 "1000 messages at the MX (have $(peer_stat mx messages))"
wait_until queue_empty 20 "empty queue"

expect_eq "$(log_count 'status=bounced')" 0 "bounces"
expect_eq "$(log_count 'status=deferred')" 0 "deferrals"
expect_eq "$(peer_stat mx refused)" 0 "connections refused with 421 (too many)"
expect_eq "$(peer_stat mx session_limited)" 0 "sessions cut at 100 messages"
expect_eq "$(peer_stat mx rate_limited)" 0 "MAIL commands answered 451 rate limited"
expect_le "$(peer_stat mx peak)" 2 "peak simultaneous connections"
expect_le "$(peer_stat mx max_msgs_per_conn)" 100 "messages on one connection"
expect_eq "$(peer_rcpt_list mx | sort -u | wc -l)" 1000 "distinct recipients at the MX"
busiest=$(python3 -c 'import json,sys,collections
c = collections.Counter(int(r["t"]) for r in map(json.loads, open(sys.argv[1])) if r["type"] == "msg")
print(max(c.values()))' "$T/peers/mx.jsonl")
expect_le "$busiest" 50 "messages accepted in the busiest second"
