# One daemon per spool: a second `sluice run` on the spool of a running one exits non-zero
# at once with a clear message naming the first one's pid, before it touches anything (no
# listener, no queue write, no socket, the spool unchanged), and the first keeps delivering.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.11
dns_start
sink_start mx 127.0.0.11
sluice_start
inject_swaks a@src.example u1@one.example
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 20 "u1 delivered by the first daemon"

snapshot() { (cd "$T/spool" && find . -printf '%p %s %T@ %i\n' | sort); }
# The first daemon's last writes (u1's delete, then the LMDB commit it makes once no write
# is waiting) must be over before the spool is compared: its removal logged, then two snapshots
# in a row equal.
wait_until '[ "$(log_count ": removed$")" -ge 1 ]' 20 "u1 removed from the queue"
spool_at_rest() {
    snapshot >"$T/now"
    cmp -s "$T/now" "$T/before" && return 0
    mv "$T/now" "$T/before"
    return 1
}
snapshot >"$T/before"
wait_until spool_at_rest 20 "the first daemon's spool at rest"
rc=0
"$SLUICE" run -c "$CONF" >"$T/second.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the second sluice run exited 0"
expect_eq "$rc" 75 "exit status of the second sluice run"
grep -q "spool $T/spool is in use by another sluice (pid $SLUICE_PID); not starting" "$T/second.out" ||
    fail "no clear message: $(cat "$T/second.out")"
if grep -q "started\|listening" "$T/second.out"; then fail "the second daemon started: $(cat "$T/second.out")"; fi
snapshot >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the spool changed: $(diff "$T/before" "$T/after")"
expect_eq "$(cat "$T/spool/sluice.lock")" "$SLUICE_PID" "pid in the lock file"

note "the first one keeps delivering"
sluice_alive || fail "the first daemon died"
inject_swaks a@src.example u2@one.example
printf 'Subject: local\n\nx\n' | submit a@src.example u3@one.example
wait_until '[ "$(sink_rcpts mx)" -ge 3 ]' 20 "u2 (SMTP) and u3 (submit) delivered by the first daemon"
sluice_stop

note "after the first one stopped, the lock is free again"
sluice_start
wait_until '[ "$(log_count "started: hostname=")" -ge 2 ]' 20 "the second daemon started"
sluice_stop
exit 0
