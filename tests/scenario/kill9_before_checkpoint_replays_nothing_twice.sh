# SIGKILL between the journal sync and the checkpoint: 20 messages to a live MX (delivered
# and removed) and 20 to a dead one (queued) go through the journal; the journal still holds
# all of them (its first record is there: no checkpoint ran) when sluice is killed. On
# restart the journal is replayed only past what LMDB holds (by LSN), so no delivered
# message comes back: the queue holds exactly the 20 undelivered ones, they arrive once
# their MX is up, and the live MX never gets a second copy.
. "$SCN/lib.sh"

zone_mx up "10 mxup"
zone_a mxup 127.0.0.32
zone_mx down "10 mxdown"
zone_a mxdown 127.0.0.33
dns_start
sink_start up 127.0.0.32
sluice_start

inject_many --messages 40 --domains up.example,down.example --sessions 4 --per-conn 10
wait_until '[ "$(sink_rcpts up)" -ge 20 ]' 30 "20 recipients at the live MX"
wait_until '[ "$(mailq_count)" -eq 20 ]' 20 "20 recipients left in the queue"
expect_eq "$(head -c 4 "$T/spool/queue.journal")" "SQJ1" "a journal record at offset 0 (no checkpoint yet)"
sluice_kill9

sluice_start
wait_until '[ "$(log_count "recovery: ")" -ge 2 ]' 20 "recovery after the restart"
expect_eq "$(mailq_count)" 20 "recipients queued after the restart"
expect_eq "$(mailq | grep -c '@up\.example')" 0 "delivered recipients back in the queue"
sink_start down 127.0.0.33
wait_until '[ "$(sink_rcpt_list down | sort -u | wc -l)" -ge 20 ]' 60 "20 recipients at the revived MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpts down)" 20 "recipients at the revived MX (each once)"
expect_eq "$(sink_rcpts up)" 20 "recipients at the live MX (no second copy)"
