# CHUNKING (RFC 3030): to a next hop that offers CHUNKING the content goes as one
# "BDAT n LAST" chunk, not dot-stuffed, pipelined after MAIL and RCPT; to one that does
# not (smtpd_discard_ehlo_keywords = chunking) it goes with DATA. Lines starting with "."
# arrive intact either way. A transaction whose only recipient is refused still sends its
# pipelined chunk, and the refusal settles the recipient (bounced), not the session. The
# next hops are private Postfix instances relaying to an smtp-sink.
. "$SCN/lib.sh"

zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
sink_start after 127.0.0.22
postfix_start chunk 127.0.0.20 'relay_domains = chunk.example' 'relayhost = [127.0.0.22]:25' \
    'smtpd_relay_restrictions = reject_unauth_destination'
postfix_start nochunk 127.0.0.21 'relay_domains = nochunk.example' 'relayhost = [127.0.0.22]:25' \
    'smtpd_discard_ehlo_keywords = chunking'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "chunk.example", "refused.example" ]; },
    { address = "[127.0.0.21]:25"; destdomains = [ "nochunk.example" ]; } )'
sluice_start

body() { printf 'Subject: %s\r\nMessage-ID: <%s>\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n' "$1" "$1"; }
for r in a@chunk.example b@nochunk.example x@refused.example; do
    body "$r" >"$T/msg.$r"
    inject_swaks sender@src.example "$r" --data "$T/msg.$r"
done
wait_until '[ "$(log_count "to=<[abx]@(chunk|nochunk|refused)\.example>.*status=(sent|bounced)")" -ge 3 ]' 30 \
    "an outcome for each message"
log_has 'to=<a@chunk\.example>, relay=\[127\.0\.0\.20\]:25.*status=sent' || fail "a@chunk.example not sent"
log_has 'to=<b@nochunk\.example>, relay=\[127\.0\.0\.21\]:25.*status=sent' || fail "b@nochunk.example not sent"
log_has 'to=<x@refused\.example>.*status=bounced \(554 5\.7\.1' ||
    fail "x@refused.example not bounced with Postfix's refusal: $(grep 'x@refused' "$SLUICE_LOG")"
grep -Eq ': < [^ ]*: BDAT [0-9]+ LAST$' "$(postfix_log chunk)" ||
    fail "no BDAT LAST at the CHUNKING Postfix: $(grep ': < ' "$(postfix_log chunk)")"
grep -q ': < [^ ]*: DATA$' "$(postfix_log chunk)" && fail "DATA sent to a Postfix that offers CHUNKING"
grep -q ': < [^ ]*: DATA$' "$(postfix_log nochunk)" || fail "no DATA at the Postfix without CHUNKING"
grep -q ': < [^ ]*: BDAT' "$(postfix_log nochunk)" && fail "BDAT sent to a Postfix without CHUNKING"

wait_until '[ "$(sink_msgs after)" -ge 2 ]' 30 "both messages past Postfix"
for f in $(find "$T/sinks/after" -type f -name 't.*'); do
    r=$(sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$f" | head -n 1)
    # the body as sent (CRLF) against the dump's last lines (smtp-sink writes LF)
    want=$(tr -d '\r' <"$T/msg.$r" | sed '1,/^$/d')
    got=$(sed '1,/^$/d' "$f")
    expect_eq "$got" "$want" "body of $r as received"
done
wait_until queue_empty 30 "empty queue"
