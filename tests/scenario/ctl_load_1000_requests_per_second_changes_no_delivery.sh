# 1,000 control requests a second while 20,000 messages are received and delivered change
# nothing in the delivery: every message reaches the sink exactly once, nothing is deferred
# or bounced, and every request gets a well-formed reply. The requests (4 sessions on the
# control socket) mix views (stats, conns, version, queue and qshape now and then), refused
# operations on an unknown queue id and pause/resume of a domain nobody sends to. The
# request loop is bounded in time (CTL_LOAD_SECONDS, 60) and so in count (rate x time).
# Smaller by hand: CTL_LOAD_MESSAGES=2000 tests/scenario/run ctl_load_1000_...
. "$SCN/lib.sh"

N=${CTL_LOAD_MESSAGES:-20000}
RATE=${CTL_LOAD_RATE:-1000}
SECS=${CTL_LOAD_SECONDS:-60}
zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
sink_start mx 127.0.0.20
sluice_start

bg_start load python3 "$SCN/ctlraw.py" load unix "$T/spool/ctl.sock" --rate "$RATE" \
    --seconds "$SECS" --out "$T/load.out" "stats --json" "version" "conns --json" \
    "show 00000000DEADBEEF" "stats" "pause idle.example" "conns" "resume idle.example" \
    "hold 00000000DEADBEEF" "stats --json" "version" "conns" "stats" "version" "conns" \
    "stats" "version" "conns" "qshape --json" "queue --json"
inject_many --messages "$N" --domains d.example --sessions 8 --per-conn 200
wait_until '[ "$(log_count "status=sent")" -ge '"$N"' ]' 110 "$N deliveries"
wait_until '[ -s "$T/load.out" ]' $((SECS + 20)) "the request loop's end"
note "load: $(cat "$T/load.out")"
read -r sent ok err bad <<<"$(sed -E 's/sent=([0-9]+) ok=([0-9]+) err=([0-9]+) bad=([0-9]+).*/\1 \2 \3 \4/' "$T/load.out")"
expect_eq "$bad" 0 "malformed or missing replies"
[ "$sent" -ge $((RATE * SECS * 8 / 10)) ] || fail "only $sent requests in $SECS s (want >= 80 % of $RATE/s)"
[ "$err" -ge $((sent / 10)) ] || fail "the refused operations did not answer ERR ($err of $sent)"
expect_eq "$(sink_msgs mx)" "$N" "messages at the sink"
expect_eq "$(log_count "status=sent")" "$N" "delivery log lines"
expect_eq "$(log_count "status=(deferred|bounced)")" 0 "deferrals and bounces"
wait_until queue_empty 30 "empty queue"
