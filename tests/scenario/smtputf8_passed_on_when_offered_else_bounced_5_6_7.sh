# SMTPUTF8 (RFC 6531 §3.2): a message that needs SMTPUTF8 (a UTF-8 envelope address, or a
# UTF-8 header in a message received with SMTPUTF8) goes to a next hop that offers the
# extension with "MAIL ... SMTPUTF8"; to one that does not it is never sent as bare UTF-8:
# it bounces with 5.6.7. A message received with SMTPUTF8 but all ASCII goes there without
# it. The next hops are private Postfix instances, one with smtputf8_enable = yes and one
# with smtputf8_enable = no; each relays on to an smtp-sink.
. "$SCN/lib.sh"

zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
sink_start after 127.0.0.22
postfix_start utf 127.0.0.20 'relay_domains = utf.example' 'relayhost = [127.0.0.22]:25' \
    'smtputf8_enable = yes'
postfix_start ascii 127.0.0.21 'relay_domains = ascii.example' 'relayhost = [127.0.0.22]:25' \
    'smtputf8_enable = no'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "utf.example" ]; },
    { address = "[127.0.0.21]:25"; destdomains = [ "ascii.example" ]; } )'
sluice_start

python3 - <<'PY' || fail "SMTPUTF8 injection refused"
import smtplib
msgs = (("j\u00f6rg@utf.example", "Subject: gr\u00fc\u00dfe\r\n"),
        ("j\u00f6rg@ascii.example", "Subject: plain\r\n"),
        ("header8@ascii.example", "Subject: gr\u00fc\u00dfe\r\n"),
        ("plain@ascii.example", "Subject: plain\r\n"))
for rcpt, hdr in msgs:
    s = smtplib.SMTP("127.0.0.1", 2525)
    s.command_encoding = "utf-8"
    s.ehlo("client.example")
    code, text = s.mail("sender@src.example", ["SMTPUTF8", "BODY=8BITMIME"])
    assert code == 250, (code, text)
    code, text = s.rcpt(rcpt)
    assert code == 250, (rcpt, code, text)
    code, text = s.data((hdr + "Message-ID: <" + rcpt + ">\r\n\r\nbody\r\n").encode())
    assert code == 250, (code, text)
    s.quit()
PY
wait_until '[ "$(log_count "to=<[^>]*@(utf|ascii)\.example>.*status=(sent|bounced)")" -ge 4 ]' 30 "an outcome for each message"
log_has 'to=<j\\xc3\\xb6rg@utf\.example>, relay=\[127\.0\.0\.20\]:25.*status=sent' ||
    fail "the UTF-8 recipient was not sent to the SMTPUTF8 Postfix: $(grep 'utf.example' "$SLUICE_LOG")"
log_has 'to=<j\\xc3\\xb6rg@ascii\.example>.*dsn=5\.6\.7, status=bounced' ||
    fail "the UTF-8 recipient to the ASCII-only Postfix did not bounce 5.6.7: $(grep 'ascii.example' "$SLUICE_LOG")"
log_has 'to=<header8@ascii\.example>.*dsn=5\.6\.7, status=bounced' ||
    fail "the UTF-8 header to the ASCII-only Postfix did not bounce 5.6.7"
log_has 'to=<plain@ascii\.example>, relay=\[127\.0\.0\.21\]:25.*status=sent' ||
    fail "the all-ASCII SMTPUTF8 message was not sent to the ASCII-only Postfix"

# what each Postfix received ("< client: MAIL FROM:..." in its debug log)
grep -q ': < [^ ]*: MAIL FROM:<sender@src.example> SIZE=[0-9]* BODY=8BITMIME SMTPUTF8$' "$(postfix_log utf)" ||
    fail "the SMTPUTF8 Postfix got no MAIL ... SMTPUTF8: $(grep 'MAIL FROM' "$(postfix_log utf)")"
grep -E ': < [^ ]*: (MAIL|RCPT)' "$(postfix_log ascii)" >"$T/ascii.cmds"
grep -q SMTPUTF8 "$T/ascii.cmds" && fail "SMTPUTF8 sent to a Postfix that does not offer it"
LC_ALL=C grep -q $'[\x80-\xff]' "$T/ascii.cmds" && fail "bare UTF-8 sent to the ASCII-only Postfix: $(cat "$T/ascii.cmds")"
expect_eq "$(grep -c 'RCPT TO:' "$T/ascii.cmds")" 1 "recipients offered to the ASCII-only Postfix (plain@ only)"

# the bounces reach the sender: RFC 6533 reports (the message was an SMTPUTF8 one)
wait_until '[ "$(sink_msgs bounces)" -ge 2 ]' 30 "two bounces at the sender's MX"
for f in $(find "$T/sinks/bounces" -type f -name 't.*'); do
    grep -q 'header8@ascii.example' "$f" || continue
    python3 - "$f" <<'PY' || fail "not a valid 5.6.7 bounce: $(cat "$f")"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.compat32)
assert m.get_content_type() == "multipart/report", m.get_content_type()
ds = m.get_payload()[1]
assert ds.get_content_type() == "message/global-delivery-status", ds.get_content_type()
text = ds.as_string()
for want in ("Action: failed", "Status: 5.6.7", "does not offer SMTPUTF8", "header8@ascii.example"):
    assert want in text, want
PY
    ok=1
done
[ "${ok:-}" = 1 ] || fail "no bounce for header8@ascii.example"
wait_until queue_empty 30 "empty queue"
