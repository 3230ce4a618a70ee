# A recipient still undeliverable after `expiry` fails permanently and its sender gets a
# bounce (Action failed, the last reply as diagnostic), delivered to the sender's MX. Status
# codes as RFC 3463 / Postfix: every attempt at the refusing MX logs dsn=4.4.1, the expiry
# logs dsn=5.4.7 and the bounce says Status 5.4.7 ("delivery time expired").
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
python3 "$SCN/dsn_check.py" "$f" failed late@d.example 'Status=^5\.4\.7$' \
    'Diagnostic-Code=^X-Sluice; 5\.4\.7 message expired, last reply: 4\.4\.1 connect to mx\.example\[127\.0\.0\.20\]:25: Connection refused' ||
    fail "expiry bounce is not a valid report: $(cat "$f")"
log_has 'to=<late@d\.example>.*dsn=5\.4\.7, status=bounced \(5\.4\.7 message expired' ||
    fail "no expiry log line with dsn=5.4.7: $(grep 'to=<late@d.example>' "$SLUICE_LOG")"
wait_until queue_empty 20 "empty queue"
deferred=$(log_count 'to=<late@d\.example>.*status=deferred')
expect_eq "$(log_count 'to=<late@d\.example>.*dsn=4\.4\.1, status=deferred \(4\.4\.1 connect to .*Connection refused\)')" \
    "$deferred" "deferrals logged with dsn=4.4.1 (of $deferred)"
