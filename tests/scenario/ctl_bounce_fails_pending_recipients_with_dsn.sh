# `sluice ctl bounce` fails every unfinished recipient of the selected messages with
# "5.0.0 bounced by administrator" and sends the sender its DSN (RFC 3464), as any failure.
# Two messages wait deferred (the MX answers 451): one from sender@src.example, one from
# other@src.example. `bounce --from 'sender@*'` selects the first only: its recipient is
# logged bounced with dsn=5.0.0, one valid report reaches the sender's MX; the other message
# stays queued.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20 --tempfail-rcpt '.=451 4.3.0 try again later'
conf_set deliver.interval '"1h"'
sluice_start

inject_swaks sender@src.example a@d.example
inject_swaks other@src.example b@d.example
wait_until '[ "$(log_count "status=deferred")" -ge 2 ]' 30 "two deferrals"
ctl_ok bounce --from 'sender@*'
expect_eq "$(cat "$T/ctl.out")" "1 message" "reply to bounce"
log_has 'to=<a@d\.example>, relay=none, .*dsn=5\.0\.0, status=bounced \(5\.0\.0 bounced by administrator\)' ||
    fail "no bounced log line for a@d.example"
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the DSN at the sender's MX"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
expect_eq "$(sink_rcpt_list bounces)" "sender@src.example" "DSN recipient"
python3 "$SCN/dsn_check.py" "$f" failed a@d.example 'Status=^5\.0\.0$' \
    'Diagnostic-Code=bounced by administrator' || fail "not a valid report: $(cat "$f")"
ctl_ok queue --json
grep -q '"destination":"d.example","recipients":1,' "$T/ctl.out" ||
    fail "b@d.example should still wait: $(cat "$T/ctl.out")"
