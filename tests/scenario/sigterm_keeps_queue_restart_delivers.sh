# SIGTERM stops the daemon (exit 0) and keeps the queue: deferred mail is listed by mailq
# while the daemon is down and is delivered after the restart.
. "$SCN/lib.sh"

zone_mx later "10 mx"
zone_a mx 127.0.0.30
dns_start
sluice_start

inject_many --messages 5 --domains later.example --sessions 1
wait_until '[ "$(log_count "status=deferred")" -ge 5 ]' 30 "5 deferrals while the MX is down"
sluice_stop
expect_eq "$(mailq_count deferred)" 5 "deferred recipients in mailq while stopped"
mq
awk -F'\t' 'NF != 8 { exit 1 }' "$T/mailq.txt" || fail "mailq lines without 8 TAB-separated fields: $(cat "$T/mailq.txt")"
awk -F'\t' '$6 < 1 { exit 1 }' "$T/mailq.txt" || fail "mailq ATTEMPTS below 1 after a deferral: $(cat "$T/mailq.txt")"
grep -Eq '^[^	]+	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z	<sender@src\.example>	' "$T/mailq.txt" ||
    grep -Eq '^[^	]+	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z	sender@src\.example	' "$T/mailq.txt" ||
    fail "mailq QID/ARRIVAL/SENDER fields: $(head -1 "$T/mailq.txt")"
sink_start mx 127.0.0.30
sluice_start
wait_until '[ "$(sink_rcpt_list mx | sort -u | wc -l)" -ge 5 ]' 60 "5 recipients at the MX"
wait_until queue_empty 20 "empty queue"
