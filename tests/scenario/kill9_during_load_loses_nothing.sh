# Crash consistency under load: while crashinject.py injects without pause over 4 sessions
# (every message carries a unique X-Crash-Id) and two smtp-sink MX hosts accept, the daemon
# is killed with SIGKILL at random moments and restarted, at least CRASH_MIN times (20) and
# for at least CRASH_SECONDS (25) with a random pause of 0.2..2*CRASH_EVERY s (CRASH_EVERY
# 1) before each kill. Every message that got a 250 must reach a sink at least once (lost
# 0), and the queue must end empty. Prints acknowledged, delivered, duplicated, lost.
# Longer by hand:
#   CRASH_SECONDS=300 CRASH_EVERY=2 SCENARIO_TIMEOUT=600 tests/scenario/run kill9_during_load_loses_nothing
. "$SCN/lib.sh"

SECONDS_MIN=${CRASH_SECONDS:-25}
EVERY=${CRASH_EVERY:-1}
KILLS_MIN=${CRASH_MIN:-20}
zone_mx ca "10 mxa"
zone_a mxa 127.0.0.51
zone_mx cb "10 mxb"
zone_a mxb 127.0.0.52
dns_start
sink_start a 127.0.0.51
sink_start b 127.0.0.52
sluice_start

bg_start crashinject python3 "$SCN/crashinject.py" --server 127.0.0.1:$SMTP_PORT \
    --domains ca.example,cb.example --acked "$T/acked" --stop "$T/stop" --sessions 4
wait_until '[ -s "$T/acked" ]' 20 "first acknowledged message"
start=$(date +%s)
kills=0
max_ms=$((EVERY * 2000 - 200))
while [ $kills -lt "$KILLS_MIN" ] || [ $(($(date +%s) - start)) -lt "$SECONDS_MIN" ]; do
    ms=$((200 + RANDOM % max_ms))
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    before=$(grep -c . "$T/acked")
    sluice_kill9
    kills=$((kills + 1))
    sluice_start
    [ $((kills % 5)) -eq 0 ] && note "kill $kills after $(($(date +%s) - start))s: $before acknowledged so far"
done
touch "$T/stop"
wait_until '! kill -0 ${SCN_PIDS[-1]} 2>/dev/null' 30 "injector stopping"
note "$kills kills in $(($(date +%s) - start))s; injector: $(cat "$T/crashinject.out")"
wait_until queue_empty 90 "empty queue after the last restart (mailq: $(mailq | head -3))"
python3 "$SCN/crashinject.py" count --acked "$T/acked" "$T/sinks/a" "$T/sinks/b" >"$T/count.out" 2>&1
rc=$?
cat "$T/count.out"
note "recoveries: $(grep -c "recovery:" "$SLUICE_LOG") runs, $(sed -n "s/.*recovery: \([0-9]*\) messages scheduled.*/\1/p" "$SLUICE_LOG" | awk "{s += \$1} END {print s + 0}") messages rescheduled in all"
[ $rc -eq 0 ] || fail "acknowledged messages lost: $(cat "$T/count.out")"
expect_eq "$(mailq | wc -l)" 0 "mailq lines at the end"
sluice_stop
