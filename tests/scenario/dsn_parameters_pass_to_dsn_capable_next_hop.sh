# RFC 3461 §5.2: a DSN-conforming MTA that relays to a DSN-capable next hop passes NOTIFY,
# RET, ENVID and ORCPT on as received. The next hop is a strict private Postfix: every
# parameter must reach it in valid syntax (a 501 would bounce the recipient) and decode
# there to what the client sent, which Postfix shows by passing the same values on to its
# own next hop (an smtp-sink). ENVID and ORCPT carry '+', '=', space, '"' and '\'; a utf-8
# ORCPT goes as RFC 6533 utf-8-addr-xtext. An ORCPT that is longer than RFC 3461 allows
# once re-encoded is left out, with a warning that says why, and the recipient is still
# delivered.
. "$SCN/lib.sh"

sink_start after 127.0.0.21
postfix_start strict 127.0.0.20 'relay_domains = example.net' 'relayhost = [127.0.0.21]:25' \
    'strict_rfc821_envelopes = yes'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "example.net" ]; } )'
sluice_start

# received (non-canonical xtext on purpose) -> what must go out
ENVID_IN='Q+2Bid+20with+3Dodd+5Cchars~'
ENVID_OUT='Q+2Bid+20with+3Dodd\chars~'
ORCPT_A_IN='rfc822;+22first+20last+3Dx+22@example.net'
ORCPT_A_OUT='rfc822;"first+20last+3Dx"@example.net'
ORCPT_B_IN='utf-8;j\x{f6}rg+2Bx@example.net'
ORCPT_B_OUT='utf-8;j\x{F6}rg\x{2B}x@example.net'
ORCPT_C_IN="rfc822;$(printf '+2B%.0s' $(seq 200))@example.net" # 200 '+': 600 bytes re-encoded

ENVID_IN=$ENVID_IN ORCPT_A_IN=$ORCPT_A_IN ORCPT_B_IN=$ORCPT_B_IN ORCPT_C_IN=$ORCPT_C_IN \
    python3 - <<'PY' || fail "injection with DSN parameters refused"
import os, smtplib
e = os.environ
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
code, text = s.mail("sender@src.example", ["RET=HDRS", "ENVID=" + e["ENVID_IN"]])
assert code == 250, (code, text)
for rcpt, opts in (("a@example.net", ["NOTIFY=SUCCESS,DELAY", "ORCPT=" + e["ORCPT_A_IN"]]),
                   ("b@example.net", ["NOTIFY=NEVER", "ORCPT=" + e["ORCPT_B_IN"]]),
                   ("c@example.net", ["NOTIFY=FAILURE,DELAY", "ORCPT=" + e["ORCPT_C_IN"]])):
    code, text = s.rcpt(rcpt, opts)
    assert code == 250, (rcpt, code, text)
code, text = s.data(b"Subject: dsn\r\nMessage-ID: <dsn@src.example>\r\n\r\nbody\r\n")
assert code == 250, (code, text)
s.quit()
PY

wait_until '[ "$(log_count "to=<[abc]@example\.net>.*status=(sent|bounced|deferred)")" -ge 3 ]' 30 \
    "an outcome for each recipient"
expect_eq "$(log_count 'to=<[abc]@example\.net>, relay=\[127\.0\.0\.20\]:25.*status=sent')" 3 \
    "recipients sent to Postfix"
PFLOG=$(postfix_log strict)
grep -E 'Bad [A-Z]+ parameter|: 50[0-9] ' "$PFLOG" && fail "Postfix refused a parameter"
# the commands Postfix's smtpd logged ("< client: COMMAND"), without SIZE=
sed -n 's/^.*: < [^ ]*: \(MAIL\|RCPT\)/\1/p' "$PFLOG" | sed 's/ SIZE=[0-9]*//' >"$T/received"
received() {
    grep -qxF -- "$1" "$T/received" || fail "Postfix did not receive \"$1\"; it got: $(cat "$T/received")"
}
received "MAIL FROM:<sender@src.example> RET=HDRS ENVID=$ENVID_OUT"
received "RCPT TO:<a@example.net> NOTIFY=SUCCESS,DELAY ORCPT=$ORCPT_A_OUT"
received "RCPT TO:<b@example.net> NOTIFY=NEVER ORCPT=$ORCPT_B_OUT"
received "RCPT TO:<c@example.net> NOTIFY=FAILURE,DELAY" # no ORCPT
log_has "ORCPT not passed on to \[127\.0\.0\.20\]:25: longer than the limit once encoded: rfc822;\+{200}@example\.net" ||
    fail "no warning for the ORCPT left out"

# Postfix decoded them to what we meant: it re-encodes them the same way for its next hop
# (in its own order; it makes up an ORCPT for c from the recipient)
wait_until '[ "$(sink_rcpts after)" -ge 3 ]' 30 "3 recipients past Postfix, at the sink"
ARGS=$(cat "$T/sinks/after"/t.* | grep -E '^X-(Mail|Rcpt)-Args:')
for want in "X-Mail-Args: <sender@src.example> ENVID=$ENVID_OUT RET=HDRS" \
    "X-Rcpt-Args: <a@example.net> ORCPT=$ORCPT_A_OUT NOTIFY=SUCCESS,DELAY" \
    "X-Rcpt-Args: <b@example.net> ORCPT=$ORCPT_B_OUT NOTIFY=NEVER"; do
    grep -qxF -- "$want" <<<"$ARGS" || fail "sink: no line \"$want\" in: $ARGS"
done
grep -q '^X-Rcpt-Args: <c@example.net> .*NOTIFY=FAILURE,DELAY$' <<<"$ARGS" ||
    fail "sink: c@example.net without its NOTIFY: $ARGS"
wait_until queue_empty 20 "empty queue"
expect_eq "$(log_count 'sender delivery status notification')" 0 \
    "reports from sluice (the next hop announced DSN)"
