# RFC 3461: NOTIFY=SUCCESS to a next hop that does not announce DSN gives the sender a
# "relayed" report; NOTIFY=FAILURE on the other recipient asks for nothing on success.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20
sluice_start

python3 - <<'PY' || fail "injection with NOTIFY=SUCCESS refused"
import smtplib
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
s.mail("sender@src.example")
for rcpt, opt in (("ok@d.example", "NOTIFY=SUCCESS"), ("quiet@d.example", "NOTIFY=FAILURE")):
    code, text = s.rcpt(rcpt, [opt, "ORCPT=rfc822;" + rcpt])
    assert code == 250, (code, text)
code, text = s.data(b"Subject: s\r\nMessage-ID: <s@src.example>\r\n\r\nbody\r\n")
assert code == 250, (code, text)
s.quit()
PY
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the success notice"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
python3 "$SCN/dsn_check.py" "$f" relayed ok@d.example 'Status=^2\.0\.0$' \
    'Original-Recipient=^rfc822; ok@d\.example$' || fail "not a valid relayed report: $(cat "$f")"
grep -q 'quiet@d.example' "$f" && grep -q 'Final-Recipient: rfc822; quiet' "$f" &&
    fail "quiet@d.example (NOTIFY=FAILURE) is in the success report"
wait_until queue_empty 20 "empty queue"
