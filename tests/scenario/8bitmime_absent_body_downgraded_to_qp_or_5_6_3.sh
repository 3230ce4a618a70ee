# 8BITMIME (RFC 6152 §3): BODY=8BITMIME only to a next hop that offers it; to one that does
# not (a private Postfix with smtpd_discard_ehlo_keywords = 8bitmime) an 8-bit MIME message
# is converted to 7 bits first: each 8-bit part becomes quoted-printable (multipart walked,
# 7-bit parts untouched), and what arrives decodes to the original text. A non-MIME 8-bit
# message cannot be labelled and bounces with 5.6.3. Each Postfix relays to an smtp-sink
# whose dumps show what it received.
. "$SCN/lib.sh"

zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
sink_start after 127.0.0.22
postfix_start eight 127.0.0.20 'relay_domains = eight.example' 'relayhost = [127.0.0.22]:25'
postfix_start seven 127.0.0.21 'relay_domains = seven.example' 'relayhost = [127.0.0.22]:25' \
    'smtpd_discard_ehlo_keywords = 8bitmime'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "eight.example" ]; },
    { address = "[127.0.0.21]:25"; destdomains = [ "seven.example" ]; } )'
sluice_start

python3 - <<'PY' || fail "8BITMIME injection refused"
import smtplib
mime = ("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain part\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Gr\u00fc\u00dfe aus K\u00f6ln = 100 \u20ac \r\n" + "\u00e9" * 60 + "\r\n.dot line\r\n"
        "--b1--\r\n")
plain = "Subject: no mime\r\n\r\nK\u00f6ln\r\n"
for rcpt, subj, body in (("a@eight.example", "mime", mime), ("b@seven.example", "mime", mime),
                         ("c@seven.example", "plain", plain)):
    s = smtplib.SMTP("127.0.0.1", 2525)
    s.ehlo("client.example")
    code, text = s.mail("sender@src.example", ["BODY=8BITMIME"])
    assert code == 250, (code, text)
    code, text = s.rcpt(rcpt)
    assert code == 250, (rcpt, code, text)
    hdr = "Subject: " + subj + "\r\nMessage-ID: <" + rcpt + ">\r\n" if subj == "mime" else ""
    code, text = s.data((hdr + body).encode())
    assert code == 250, (code, text)
    s.quit()
PY
wait_until '[ "$(log_count "to=<[abc]@(eight|seven)\.example>.*status=(sent|bounced)")" -ge 3 ]' 30 \
    "an outcome for each message"
log_has 'to=<a@eight\.example>, relay=\[127\.0\.0\.20\]:25.*status=sent' || fail "a@eight.example not sent"
log_has 'to=<b@seven\.example>, relay=\[127\.0\.0\.21\]:25.*status=sent' || fail "b@seven.example not sent"
log_has '8-bit content converted to 7-bit MIME for \[127\.0\.0\.21\]:25' || fail "no conversion logged"
log_has 'to=<c@seven\.example>.*dsn=5\.6\.3, status=bounced \(5\.6\.3 the next hop does not offer 8BITMIME' ||
    fail "the non-MIME 8-bit message did not bounce 5.6.3: $(grep 'c@seven' "$SLUICE_LOG")"
grep -q ': < [^ ]*: MAIL FROM:<sender@src.example> SIZE=[0-9]* BODY=8BITMIME$' "$(postfix_log eight)" ||
    fail "the 8BITMIME Postfix got no BODY=8BITMIME: $(grep 'MAIL FROM' "$(postfix_log eight)")"
grep ': < [^ ]*: MAIL FROM' "$(postfix_log seven)" | grep -q 'BODY=' &&
    fail "BODY= sent to a Postfix without 8BITMIME: $(grep 'MAIL FROM' "$(postfix_log seven)")"
expect_eq "$(grep -c ': < [^ ]*: RCPT TO' "$(postfix_log seven)")" 1 "recipients offered to the 7-bit Postfix (b only)"

wait_until '[ "$(sink_msgs after)" -ge 2 ]' 30 "both MIME messages past Postfix"
for f in $(find "$T/sinks/after" -type f -name 't.*'); do
    grep -q '^X-Rcpt-Args: <b@seven.example>' "$f" && seven=$f
    grep -q '^X-Rcpt-Args: <a@eight.example>' "$f" && eight=$f
done
[ -n "${seven:-}" ] && [ -n "${eight:-}" ] || fail "a sink dump is missing"
LC_ALL=C grep -q $'[\x80-\xff]' "$eight" || fail "the 8BITMIME hop did not get the 8-bit original"
LC_ALL=C grep -q $'[\x80-\xff]' "$seven" && fail "8-bit octets reached the hop without 8BITMIME"
python3 - "$seven" <<'PY' || fail "the converted message does not decode to the original: $(cat "$seven")"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
parts = list(m.iter_parts())
assert len(parts) == 2, len(parts)
assert parts[0]["Content-Transfer-Encoding"] is None
assert parts[0].get_content().rstrip("\n") == "plain part", parts[0].get_content()
assert parts[1]["Content-Transfer-Encoding"] == "quoted-printable", parts[1]["Content-Transfer-Encoding"]
want = "Gr\u00fc\u00dfe aus K\u00f6ln = 100 \u20ac \n" + "\u00e9" * 60 + "\n.dot line"
got = parts[1].get_content().rstrip("\n")
assert got == want, (got, want)
PY
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the 5.6.3 bounce"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
python3 "$SCN/dsn_check.py" "$f" failed c@seven.example 'Status=^5\.6\.3$' \
    'Diagnostic-Code=not MIME' || fail "not a valid 5.6.3 bounce: $(cat "$f")"
wait_until queue_empty 30 "empty queue"
