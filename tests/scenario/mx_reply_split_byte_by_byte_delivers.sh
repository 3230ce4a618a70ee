# The only MX writes every reply one byte at a time (a separate TCP segment each, 2 ms
# apart), multi-line EHLO reply included: the client reassembles them and delivers (RFC 5321
# §2.4: replies are lines, not segments). The queue ends empty and the daemon stays up.
. "$SCN/lib.sh"

zone_mx split "10 mx"
zone_a mx 127.0.0.40
dns_start
faultpeer_start mx 127.0.0.40 split
conf_set deliver.client.timeout '"5s"'
sluice_start

inject_swaks sender@src.example u1@split.example,u2@split.example
wait_until "log_has 'to=<u1@split\.example>.*status=sent'" 30 "log: to=<u1@split.example> ... status=sent"
wait_until "log_has 'to=<u2@split\.example>.*status=sent'" 10 "log: to=<u2@split.example> ... status=sent"
wait_until queue_empty 20 "empty queue"
expect_eq "$(log_count 'status=(deferred|bounced)')" 0 "deferred/bounced log lines"
wait_until '[ "$(faultpeer_ended mx)" -eq "$(faultpeer_opened mx)" ]' 10 "connection closed"
expect_eq "$(grep -c '"accepted": true' "$T/peers/mx.jsonl")" 1 "messages the split-reply MX accepted"
sluice_answers || fail "sluice does not answer SMTP"
