# DELIVERBY (RFC 2852 §4.1.4): a BY=n;R message not delivered when its by-time passes is
# returned (failed, Status 5.4.7, "delivery time expired"); for BY=n;N the sender gets one
# "delayed" notice at that time and delivery goes on. The next hop is down (connections
# refused) and the retry interval is an hour, so only the scheduler's by-time can bring the
# notices within the test: the recipient is due at the by-time, not at its next retry.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20 # nothing listens: every attempt is deferred
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
conf_set smtpd.deliverby '"1s"'
conf_set deliver.interval '"1h"'
sluice_start

t0=$(date +%s)
python3 - <<'PY' || fail "injection with BY= refused"
import smtplib
for rcpt, by in (("late-r@d.example", "BY=4;R"), ("late-n@d.example", "BY=4;N")):
    s = smtplib.SMTP("127.0.0.1", 2525)
    s.ehlo("client.example")
    code, text = s.mail("sender@src.example", [by])
    assert code == 250, (code, text)
    code, text = s.rcpt(rcpt)
    assert code == 250, (code, text)
    code, text = s.data(b"Subject: by\r\nMessage-ID: <" + rcpt.encode() + b">\r\n\r\nurgent\r\n")
    assert code == 250, (code, text)
    s.quit()
PY
wait_until "log_has 'to=<late-r@d\.example>.*status=deferred'" 20 "a first deferral"
wait_until '[ "$(sink_msgs bounces)" -ge 2 ]' 30 "the return and the delay notice"
took=$(($(date +%s) - t0))
expect_le 4 "$took" "seconds before the notices (the by-time)"
for f in $(find "$T/sinks/bounces" -type f -name 't.*'); do
    if grep -q 'late-r@d.example' "$f" && grep -q 'Action: failed' "$f"; then
        python3 "$SCN/dsn_check.py" "$f" failed late-r@d.example 'Status=^5\.4\.7$' \
            'Diagnostic-Code=^X-Sluice; 5\.4\.7 delivery time expired, last reply: 4\.4\.1 connect to mx\.example\[127\.0\.0\.20\]:25: Connection refused' ||
            fail "the return is not a valid report: $(cat "$f")"
        r=$f
    elif grep -q 'late-n@d.example' "$f"; then
        python3 "$SCN/dsn_check.py" "$f" delayed late-n@d.example 'Status=^4\.' ||
            fail "the N notice is not a valid delay report: $(cat "$f")"
        n=$f
    fi
done
[ -n "${r:-}" ] || fail "no failed report for late-r@d.example"
[ -n "${n:-}" ] || fail "no delayed report for late-n@d.example"
log_has 'to=<late-r@d\.example>.*dsn=5\.4\.7, status=bounced \(5\.4\.7 delivery time expired' ||
    fail "no bounce log line with dsn=5.4.7: $(grep 'late-r@' "$SLUICE_LOG")"
# the N message stays queued, due at its next retry (an hour): no second notice
wait_until '[ "$(mailq_count)" -eq 1 ]' 20 "the N message still queued"
mq; grep -q "late-n@d.example" "$T/mailq.txt" || fail "late-n@d.example not in the queue: $(cat "$T/mailq.txt")"
expect_eq "$(sink_msgs bounces)" 2 "notices (one return, one delay notice)"
