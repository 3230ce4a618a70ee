# The etiquette test without a policy block (issue 13, point 5, small): the receiver allows
# 2 connections per client address, 100 messages per connection and 50 messages a second
# ("421 4.7.0 too many connections" past the first two, 421 past the hundredth message,
# "451 4.7.1 rate limited" past 50 a second), and sluice is told none of it. Slow start
# from one connection (deliver.initial_concurrency = 1) finds the connection limit with
# one refused connection, and the cap holds (no probe in these ~10 sessions); the first
# 451 teaches the rate ceiling (what the receiver accepted in the second before it), after
# which the rate stays just under it. Outcomes, not timings: every one of 1,000 messages
# arrives, nothing bounces (no 5xx), at most one connection is refused, none is cut at 100
# messages, and the 451s are counted (deferred recipients, retried). Throughput against
# the limit is measured by the bench (bench/run shaping).
. "$SCN/lib.sh"

zone_mx lim "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.initial_concurrency 1
conf_set deliver.queuecache 5000
peer_start mx 127.0.0.20 --max-connections-per-ip 2 --max-messages-per-conn 100 \
    --max-msgs-per-second 50
sluice_start

note "injecting 1000 messages"
inject_many --messages 1000 --domains lim.example --sessions 4 --per-conn 100
wait_until '[ "$(peer_stat mx messages)" -ge 1000 ]' 180 "1000 messages at the MX (have $(peer_stat mx messages))"
wait_until queue_empty 20 "empty queue"

expect_eq "$(log_count 'status=bounced')" 0 "bounces"
expect_le "$(peer_stat mx refused)" 1 "connections refused with 421 (too many)"
expect_eq "$(peer_stat mx session_limited)" 0 "sessions cut at 100 messages"
expect_le "$(peer_stat mx peak)" 2 "peak simultaneous connections"
expect_le "$(peer_stat mx max_msgs_per_conn)" 100 "messages on one connection"
expect_eq "$(peer_rcpt_list mx | sort -u | wc -l)" 1000 "distinct recipients at the MX"
log_has 'concurrency limited to 2:' || fail "no log line: concurrency limited to 2"
log_has 'message rate lowered to .*ceiling' || fail "no log line: message rate lowered (ceiling)"
note "wasted: $(peer_stat mx refused) refused of $(peer_stat mx conns) connections;" \
    "$(peer_stat mx rate_limited) MAIL commands answered 451 rate limited (deferred, retried)"
