# A held message stays held across a restart and never expires while held. deliver.expiry
# is 2 s; one message to an MX that answers 451 the first time is deferred, then held. The
# daemon is stopped and started again: the message is still held (MSG_F_HELD on disk,
# recovery parks it), nothing is attempted, and well past the expiry it is still queued
# without a bounce. Requeue and release: delivered (the MX takes it the second time).
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --tempfail-rcpt '.=451 4.3.0 try again later' --tempfail-times 1
conf_set deliver.interval '"1h"'
conf_set deliver.expiry '"2s"'
sluice_start

inject_swaks sender@src.example a@one.example
wait_until 'log_has "status=deferred"' 30 "a deferral"
A=$(qid_of a@one.example)
ctl_ok hold "$A"
sluice_stop
sluice_start
expect_eq "$(ctl_where "$A" a@one.example)" held "A after the restart"
ctl_ok queue --json
grep -q '"held":1' "$T/ctl.out" || fail "queue does not count A as held: $(cat "$T/ctl.out")"

note "past the expiry (2 s) a held message is neither attempted nor expired"
sleep_until=$(( $(date +%s) + 4 ))
wait_until '[ "$(date +%s)" -ge '"$sleep_until"' ]' 10 "4 s to pass"
expect_eq "$(ctl_where "$A" a@one.example)" held "A after 4 s"
expect_eq "$(log_count 'to=<a@one\.example>')" 1 "attempts logged for A"
expect_eq "$(log_count 'expired|status=bounced')" 0 "expiries and bounces"

note "requeue + release: delivered"
ctl_ok requeue "$A"
ctl_ok release "$A"
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 20 "A at the MX"
wait_until queue_empty 20 "empty queue"
