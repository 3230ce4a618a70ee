# Message operations of `sluice ctl` act on the running scheduler at once, without a
# restart. Three messages to one MX that answers every recipient 451 the first time are all
# deferred for an hour (deliver.interval 1h). Then: hold A and requeue it: it stays held
# (nothing reaches the MX); requeue B: delivered at once; release A: delivered at once (the
# requeue made it due); delete C: gone from the daemon and the spool, never
# delivered, no report. An unknown queue id exits 1 with a reason.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --tempfail-rcpt '.=451 4.3.0 try again later' --tempfail-times 1
conf_set deliver.interval '"1h"'
sluice_start

inject_swaks sender@src.example a@one.example
inject_swaks sender@src.example b@one.example
inject_swaks sender@src.example c@one.example
wait_until '[ "$(log_count "status=deferred")" -eq 3 ]' 30 "three deferrals"
A=$(qid_of a@one.example) B=$(qid_of b@one.example) C=$(qid_of c@one.example)
[ -n "$A" ] && [ -n "$B" ] && [ -n "$C" ] || fail "queue ids not found in the log"

note "hold A, then requeue A: it stays held"
ctl_ok hold "$A"
grep -q '^1 message$' "$T/ctl.out" || fail "hold reply: $(cat "$T/ctl.out")"
expect_eq "$(ctl_where "$A" a@one.example)" held "A after hold"
ctl_ok requeue "$A"
expect_eq "$(ctl_where "$A" a@one.example)" held "A after requeue while held"
"$SLUICE" cat -c "$CONF" -e "$A" | grep -q '^flags: held' || fail "MSG_F_HELD not on disk"

note "requeue B: delivered at once"
ctl_ok requeue "$B"
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 20 "B at the MX"
expect_eq "$(peer_rcpt_list mx)" "b@one.example" "recipients at the MX (A is held)"

note "release A: the requeue made it due: delivered"
ctl_ok release "$A"
wait_until '[ "$(peer_stat mx messages)" -ge 2 ]' 20 "A at the MX"

note "delete C: gone, never delivered, no report"
ctl_ok delete "$C"
expect_eq "$(ctl_where "$C" c@one.example)" gone "C after delete"
wait_until '! "$SLUICE" cat -c "$CONF" "$C" >/dev/null 2>&1' 10 "C gone from the spool"
log_has "$C: removed \(deleted by administrator\)" || fail "no removal log line for C"

note "an unknown queue id: exit 1, one line on stderr"
rc=0
ctl hold 0123456789ABCDEF || rc=$?
expect_eq "$rc" 1 "exit status for an unknown queue id"
expect_eq "$(cat "$T/ctl.err")" "sluice ctl: no such message 0123456789ABCDEF" "stderr"

wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list mx | sort | tr '\n' ' ')" "a@one.example b@one.example " "delivered"
expect_eq "$(log_count 'status=bounced')" 0 "bounces"
expect_eq "$(log_count 'sender@src.example.*report|bounce')" 0 "reports"
