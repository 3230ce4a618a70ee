# RFC 3461: RCPT TO ... NOTIFY=NEVER suppresses every report: the 5xx recipient fails, no
# bounce reaches the sender's MX, and the message leaves the queue.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20 --reject-rcpt '^bad=550 5.1.1 no such user'
sluice_start

python3 - <<'PY' || fail "injection with NOTIFY=NEVER refused"
import smtplib
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
s.sendmail("sender@src.example", ["bad@d.example"],
           b"Subject: never\r\nMessage-ID: <never@src.example>\r\n\r\nbody\r\n",
           rcpt_options=["NOTIFY=NEVER"])
s.quit()
PY
wait_until "log_has 'to=<bad@d\.example>.*status=bounced'" 30 "the failure"
wait_until queue_empty 20 "empty queue"
# a bounce would have been queued and delivered within this time (negative check: bounded)
sleep 2
expect_eq "$(sink_msgs bounces)" 0 "bounces sent"
log_has 'delivery status notification' && fail "a report was generated"
true
