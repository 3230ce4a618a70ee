# RFC 3464: a recipient refused with 5xx gets one multipart/report from the null sender,
# through the queue, to the envelope sender, here delivered to the sender domain's MX (a
# second sink); Python's email package parses it as a valid report naming the recipient,
# the remote reply and the remote MTA. Afterwards the queue is empty (reported failures do
# not keep the message).
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20 --reject-rcpt '^bad=550 5.1.1 no such user'
sluice_start

inject_swaks sender@src.example good@d.example,bad@d.example
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the bounce at the sender's MX"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
expect_eq "$(sink_rcpt_list bounces)" "sender@src.example" "bounce recipient"
grep -qi '^X-Mail-Args: <>' "$f" || fail "bounce envelope sender is not <>: $(grep -i '^X-Mail-Args' "$f")"
python3 "$SCN/dsn_check.py" "$f" failed bad@d.example \
    'Status=^5\.1\.1$' 'Diagnostic-Code=^smtp; 550 5\.1\.1 no such user' \
    'Remote-MTA=^dns; mx\.example' 'Last-Attempt-Date=.' 'Reporting-MTA=^dns; ' ||
    fail "bounce is not a valid report: $(cat "$f")"
grep -q 'good@d.example' "$f" && grep -A3 'Final-Recipient.*good@d' "$f" | grep -q Action &&
    fail "the delivered recipient is listed in the bounce"
wait_until queue_empty 20 "empty queue after the bounce was delivered"
expect_eq "$(sink_msgs bounces)" 1 "bounces sent"
