# A power cut after the journal sync, before the checkpoint (docs/design.md, "Durability"):
# 40 messages accepted (250) while their MX is down, under the test hook
# SLUICE_TEST_POWERCUT=1. On SIGTERM the daemon reaches its checkpoint; the hook puts back
# queue.mdb as it was at the last checkpoint (start-up: empty), which loses every LMDB write
# since then as a power cut may, and exits 137. `mailq` then shows an empty queue: only the
# journal holds the mail. Restarted without the hook, sluice replays the journal; with the
# MX up every acknowledged message arrives exactly once and the queue ends empty.
. "$SCN/lib.sh"

zone_mx pc "10 mx"
zone_a mx 127.0.0.31
dns_start
export SLUICE_TEST_POWERCUT=1
sluice_start
unset SLUICE_TEST_POWERCUT

inject_many --messages 40 --domains pc.example --sessions 4 --per-conn 10
note "injected: $(cat "$T/inject.out")"
kill -TERM "$SLUICE_PID"
wait_until '! sluice_alive' 20 "sluice exiting at its checkpoint"
rc=0
wait "$SLUICE_PID" || rc=$?
SLUICE_PID=""
expect_eq "$rc" 137 "exit status of the simulated power cut"
log_has 'SLUICE_TEST_POWERCUT: queue.mdb set back to the last checkpoint' ||
    fail "no log line of the simulated power cut"
expect_eq "$(mailq_count)" 0 "recipients in LMDB after the power cut (all in the journal)"

sink_start mx 127.0.0.31
sluice_start
log_has 'queue: journal replayed into LMDB' || fail "no journal replay at start"
wait_until '[ "$(sink_rcpt_list mx | sort -u | wc -l)" -ge 40 ]' 60 "40 distinct recipients at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list mx | sort -u | wc -l)" 40 "distinct recipients at the MX"
expect_eq "$(sink_rcpts mx)" 40 "recipients at the MX (each delivered once)"
