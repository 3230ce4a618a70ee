# RFC 3461 §4.2: ORCPT is addr-type ";" xtext. A recipient received with
# ORCPT=rfc822;plus+2Btag@example.net must leave sluice with that same xtext, not decoded
# ("plus+tag", which a strict next hop refuses with "501 5.5.4 Bad ORCPT parameter syntax",
# bouncing every plus-addressed recipient relayed with DSN parameters). The next hop is a
# private Postfix that announces DSN: it must accept the recipient with the parameter as
# sent, and pass the message and the same ORCPT on to its own next hop (an smtp-sink).
. "$SCN/lib.sh"

sink_start after 127.0.0.21
postfix_start strict 127.0.0.20 'relay_domains = example.net' 'relayhost = [127.0.0.21]:25' \
    'strict_rfc821_envelopes = yes'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "example.net" ]; } )'
sluice_start

python3 - <<'PY' || fail "injection with ORCPT=rfc822;plus+2Btag@example.net refused"
import smtplib
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
s.mail("sender@src.example")
code, text = s.rcpt("plus+tag@example.net", ["ORCPT=rfc822;plus+2Btag@example.net"])
assert code == 250, (code, text)
code, text = s.data(b"Subject: plus\r\nMessage-ID: <plus@src.example>\r\n\r\nbody\r\n")
assert code == 250, (code, text)
s.quit()
PY

wait_until 'log_has "to=<plus\+tag@example\.net>.*status=(sent|bounced|deferred)"' 30 \
    "an outcome for plus+tag@example.net"
log_has 'to=<plus\+tag@example\.net>, relay=\[127\.0\.0\.20\]:25.*status=sent' ||
    fail "not sent to Postfix: $(grep 'plus+tag' "$SLUICE_LOG")"
PFLOG=$(postfix_log strict)
grep -q ': < [^ ]*: RCPT TO:<plus+tag@example.net> ORCPT=rfc822;plus+2Btag@example.net$' "$PFLOG" ||
    fail "Postfix did not receive the ORCPT as sent: $(grep -E 'RCPT TO|ORCPT' "$PFLOG")"
grep -E 'Bad ORCPT|: 501 ' "$PFLOG" && fail "Postfix refused a parameter"
wait_until '[ "$(sink_msgs after)" -ge 1 ]' 30 "the message past Postfix, at the sink"
expect_eq "$(grep -h '^X-Rcpt-Args:' "$T/sinks/after"/t.*)" \
    'X-Rcpt-Args: <plus+tag@example.net> ORCPT=rfc822;plus+2Btag@example.net' \
    "recipient and ORCPT Postfix passed on"
wait_until queue_empty 20 "empty queue"
