# A recipient still undeliverable after `expiry` fails permanently and its sender gets a
# bounce (Action failed, the last reply as diagnostic), delivered to the sender's MX.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20            # nothing listens: every attempt is deferred
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
conf_set deliver.expiry '"2s"'
sluice_start

inject_swaks sender@src.example late@d.example
wait_until "log_has 'to=<late@d\.example>.*status=deferred'" 20 "a deferral first"
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the expiry bounce at the sender's MX"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
python3 "$SCN/dsn_check.py" "$f" failed late@d.example 'Diagnostic-Code=message expired' ||
    fail "expiry bounce is not a valid report: $(cat "$f")"
log_has 'to=<late@d\.example>.*status=bounced \(message expired' || fail "no expiry log line"
wait_until queue_empty 20 "empty queue"
