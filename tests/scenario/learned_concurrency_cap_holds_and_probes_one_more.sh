# Learned concurrency cap (docs/design.md): when a destination refuses extra connections
# while others are in session, sluice caps it at what works and probes one more connection
# after `cap` successful sessions, twice as many after each refused probe (2, 4, 8, ...). The MX takes 2 connections at once and greets any
# more with 421; sluice may open 6 (maxserverconnections) and carries one message per
# connection, so 30 messages mean 30 sessions. Once the cap of 2 is learned it holds: after
# the first 4 sessions, refused connections (probes) are at most one per 2 sessions (plus
# one), and there is at least one (the cap is probed, not frozen). Without the cap each
# connection that ends would be followed by up to 4 refused ones.
. "$SCN/lib.sh"

zone_mx cap "10 mx"
zone_a mx 127.0.0.20
dns_start
conf_set deliver.maxserverconnections 6
conf_set deliver.maxmessages 1
conf_set deliver.idlemax '"0"'
peer_start mx 127.0.0.20 --max-connections 2 --delay-ms 100
sluice_start
inject_many --messages 30 --domains cap.example --sessions 1
wait_until '[ "$(peer_stat mx messages)" -ge 30 ]' 90 "30 messages at the MX"
wait_until queue_empty 20 "empty queue"
wait_until '[ "$(peer_stat mx conns)" -ge 30 ]' 20 "every session ended"
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
expect_le "$probes" $((accepted / 2 + 1)) "refused connections after the cap was learned"
[ "$probes" -ge 1 ] || fail "no probe beyond the cap of 2 after the first 4 sessions"
expect_le "$(peer_stat mx peak)" 2 "peak simultaneous sessions at the MX"
