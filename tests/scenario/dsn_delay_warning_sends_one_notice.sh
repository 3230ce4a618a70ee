# Postfix delay_warning_time: a recipient still deferred after deliver.delay_warning gets
# its sender ONE "delayed" report per message (Action delayed, Will-Retry-Until), however
# many retries follow. Its Status is the last attempt's code (the remote 4.3.0, as Postfix
# reports it); the Diagnostic-Code keeps the last reply.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20 --tempfail-rcpt '^slow=451 4.3.0 try later'
conf_set deliver.delay_warning '"1s"'
sluice_start

inject_swaks sender@src.example slow@d.example
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the delay notice at the sender's MX"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
python3 "$SCN/dsn_check.py" "$f" delayed slow@d.example 'Status=^4\.3\.0$' \
    'Diagnostic-Code=^smtp; 451 4\.3\.0 try later' 'Will-Retry-Until=.' ||
    fail "delay notice is not a valid report: $(cat "$f")"
wait_until '[ "$(log_count "to=<slow@d\.example>.*status=deferred")" -ge 4 ]' 30 "more retries"
expect_eq "$(sink_msgs bounces)" 1 "delay notices"
expect_eq "$(mailq_field slow@d.example 5)" deferred "state of slow@d.example"
