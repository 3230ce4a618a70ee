# Learned concurrency cap (docs/shaping.md, "Slow start"): when a destination refuses extra
# connections while others are in session, sluice caps it at what works and holds there; a
# refused probe is a wasted connection, so one more connection is tried only after 256
# successful sessions at the cap (SLOWSTART_PROBE_MIN), twice as many after each refused
# probe. The MX takes 2 connections at once and greets any more with 421; sluice may open 6
# (maxserverconnections) and carries one message per connection, so 300 messages mean 300
# sessions. The cap of 2 is learned in the first burst and then holds: after the first 4
# sessions at most one connection is refused per 256 sessions (plus one), and there is at
# least one (the cap is probed, not frozen). Without the hold each connection that ends
# would be followed by up to 4 refused ones.
. "$SCN/lib.sh"

zone_mx cap "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.maxserverconnections 6
conf_set deliver.maxmessages 1
conf_set deliver.idlemax '"0"'
peer_start mx 127.0.0.20 --max-connections 2 --delay-ms 10
sluice_start
inject_many --messages 300 --domains cap.example --sessions 1
wait_until '[ "$(peer_stat mx messages)" -ge 300 ]' 120 "300 messages at the MX"
wait_until queue_empty 20 "empty queue"
wait_until '[ "$(peer_stat mx conns)" -ge 300 ]' 20 "every session ended"
# Connections in the order the MX saw them: a = accepted, r = refused (421).
order=$(python3 -c 'import json,sys
recs = sorted((r["conn"], "r" if r["refused"] else "a") for r in map(json.loads, open(sys.argv[1]))
              if r["type"] == "conn")
print("".join(k for _, k in recs))' "$T/peers/mx.jsonl")
note "connections in order: $order"
later=$(echo "$order" | sed 's/^\([^a]*a\)\{4\}//')
accepted=$(echo "$later" | tr -cd a | wc -c)
probes=$(echo "$later" | tr -cd r | wc -c)
note "after the first 4 sessions: $accepted sessions, $probes refused"
log_has 'concurrency limited to 2:' || fail "no log line: concurrency limited to 2"
expect_le "$probes" $((accepted / 256 + 1)) "refused connections after the cap was learned"
[ "$probes" -ge 1 ] || fail "no probe beyond the cap of 2 after 256 sessions"
expect_le "$(peer_stat mx peak)" 2 "peak simultaneous sessions at the MX"
