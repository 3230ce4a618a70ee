# Seed 000 §4.5.2 audit: one record per delivered recipient, written by a thread with
# grouped fsyncs. Under load (2000 recipients, parallel sessions) the audit file holds
# exactly one line per delivery (count against the delivery log), each with sender,
# recipient, the client IP, the delivery IP, the queue id and Message-ID; the client
# transcript holds commands and replies but no message body.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
sink_start mx 127.0.0.20
conf_set deliver.audit '{ path = "%DIRLOG%audit/Y%Y%/delivered-%DT%.log"; rot = "daily"; flush = "50"; }'
conf_set deliver.event_log '"%DIRLOG%events-%DT%.jsonl"'
conf_set deliver.client.transcript '"%DIRLOG%transcripts/smtpclient-%DT%.log"'
sluice_start

inject_many --messages 1000 --domains d.example --rcpts 2 --sessions 8 --per-conn 50
wait_until '[ "$(log_count "status=sent")" -ge 2000 ]' 90 "2000 deliveries"
wait_until queue_empty 30 "empty queue"
sluice_stop
spool=$(sed -n 's/^spool *= *"\(.*\)";/\1/p' "$T/sluice.conf")
audit=$(find "$spool/log/audit" -type f -name 'delivered-*.log')
[ -n "$audit" ] || fail "no audit file under $spool/log/audit"
expect_eq "$(cat $audit | wc -l)" "$(log_count 'status=sent')" "audit records vs deliveries"
expect_eq "$(cat $audit | grep -c ' qid=[0-9A-F]\{16\} from=<[^>]*> to=<[^>]*@d.example> received_from=127.0.0.1 delivered_to=127.0.0.20 message_id=<[^>]*> reply=250')" 2000 "complete audit records"
ev=$(find "$spool/log" -maxdepth 1 -name 'events-*.jsonl')
python3 -c 'import json,sys
n = {}
for l in open(sys.argv[1]):
    e = json.loads(l); n[e["event"]] = n.get(e["event"], 0) + 1
print(n.get("reception", 0), n.get("attempt", 0))' "$ev" > "$T/ev.txt" || fail "event log is not JSON lines"
expect_eq "$(cat "$T/ev.txt")" "1000 2000" "reception and attempt events"
tr=$(find "$spool/log/transcripts" -type f)
grep -q ' > MAIL FROM:<' $tr || fail "transcript without MAIL FROM"
grep -q ' < 250' $tr || fail "transcript without replies"
grep -q 'body bytes' $tr || fail "transcript without the body note"
grep -q '^Subject:' $tr && fail "transcript holds message text"
true
