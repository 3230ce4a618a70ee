# RFC 3461 §4.3/§6.2.1 against a real next hop that does not offer DSN (a private Postfix
# with smtpd_discard_ehlo_keywords = dsn): no NOTIFY, ORCPT, RET or ENVID reaches it (it
# would refuse them), and the recipient that asked NOTIFY=SUCCESS gets its sender a
# "relayed" notice from sluice; the one with NOTIFY=FAILURE asks for nothing on success.
. "$SCN/lib.sh"

zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
sink_start after 127.0.0.21
postfix_start nodsn 127.0.0.20 'relay_domains = example.net' 'relayhost = [127.0.0.21]:25' \
    'smtpd_discard_ehlo_keywords = dsn'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "example.net" ]; } )'
sluice_start

python3 - <<'PY' || fail "injection with DSN parameters refused"
import smtplib
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
code, text = s.mail("sender@src.example", ["RET=HDRS", "ENVID=env+2B1"])
assert code == 250, (code, text)
for rcpt, opt in (("ok@example.net", "NOTIFY=SUCCESS"), ("quiet@example.net", "NOTIFY=FAILURE")):
    code, text = s.rcpt(rcpt, [opt, "ORCPT=rfc822;" + rcpt])
    assert code == 250, (code, text)
code, text = s.data(b"Subject: s\r\nMessage-ID: <s@src.example>\r\n\r\nbody\r\n")
assert code == 250, (code, text)
s.quit()
PY
wait_until '[ "$(log_count "to=<(ok|quiet)@example\.net>.*status=sent")" -ge 2 ]' 30 "both sent to Postfix"
grep -E ': < [^ ]*: (MAIL|RCPT)' "$(postfix_log nodsn)" >"$T/cmds"
grep -Eq 'NOTIFY=|ORCPT=|RET=|ENVID=' "$T/cmds" && fail "DSN parameters sent to a hop without DSN: $(cat "$T/cmds")"
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the relayed notice"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
python3 "$SCN/dsn_check.py" "$f" relayed ok@example.net 'Status=^2\.0\.0$' \
    'Original-Recipient=^rfc822; ok@example\.net$' 'Original-Envelope-Id=^env\+1$' ||
    fail "not a valid relayed notice: $(cat "$f")"
grep -q 'Final-Recipient: rfc822; *quiet@example.net' "$f" &&
    fail "quiet@example.net (NOTIFY=FAILURE) is in the success notice"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_msgs bounces)" 1 "notices"
