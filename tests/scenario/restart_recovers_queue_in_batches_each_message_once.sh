# A queue of more than one recovery batch (700 messages; batches of 256, src/sched/recover.c)
# is recovered from the event loop while delivery already runs, and every message reaches
# the MX exactly once: those of every batch, and mail received while the scan is going on
# (another path into the scheduler, ahead of the scan).
. "$SCN/lib.sh"

zone_mx later "10 mx"
zone_a mx 127.0.0.30
dns_start
sluice_start

note "700 messages while the MX is down, then a stop"
inject_many --messages 700 --domains later.example --sessions 4
sluice_stop
expect_eq "$(mailq_count)" 700 "queued recipients while stopped"

note "MX up, restart, one more message at once"
sink_start mx 127.0.0.30
sluice_start
inject_swaks sender@src.example new@later.example
wait_until '[ "$(sink_rcpts mx)" -ge 701 ]' 90 "701 recipients at the MX"
wait_until queue_empty 30 "empty queue"
log_has "recovery: 700 messages scheduled" || fail "no recovery line for 700 messages"
expect_eq "$(sink_rcpt_list mx | sort | uniq -d | head -3)" "" "recipients delivered twice"
expect_eq "$(sink_rcpts mx)" 701 "recipients at the MX"
