# RFC 3030 §4 / RFC 1870: a BDAT chunk (not LAST) that takes the content past
# max_message_size is answered 552 5.3.4 at once, even when it is one line far over 998
# octets (which alone would be 554 5.6.0 at the end); the transaction is over (the LAST chunk
# after it gets 503), nothing is queued, and the session goes on: the next message, small,
# is delivered.
. "$SCN/lib.sh"

zone_mx big "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
conf_set smtpd.max_message_size 2048
sluice_start

line=$(head -c 5000 /dev/zero | tr '\0' 'x')
{ printf 'EHLO client.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@big.example>\r\nBDAT 5000\r\n%s' "$line"
  printf 'BDAT 5 LAST\r\nend\r\nNOOP\r\n'
  printf 'MAIL FROM:<a@src.example>\r\nRCPT TO:<u2@big.example>\r\nBDAT 22 LAST\r\nSubject: small\r\n\r\nok\r\nQUIT\r\n'; } >"$T/in"
smtp_talk "$T/in" >"$T/replies"
sed -n '/^250 HELP/,$p' "$T/replies" | tail -n +2 >"$T/after_ehlo"
expect_eq "$(tr '\n' '|' <"$T/after_ehlo")" "250 2.1.0 Ok|250 2.1.5 Ok|552 5.3.4 Error: message exceeds fixed maximum message size|503 5.5.1 Error: need MAIL command|250 2.0.0 Ok|250 2.1.0 Ok|250 2.1.5 Ok|$(grep -o '250 2\.0\.0 Ok: queued as [0-9A-F]*' "$T/replies")|221 2.0.0 Bye|" "replies after EHLO"
log_has 'message refused: over max_message_size' || fail "no log line for the refusal"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the small message at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpts mx)" 1 "messages at the MX (the big one never queued)"
grep -l '^Subject: small' "$T/sinks/mx"/t.* >/dev/null || fail "small message not delivered"
