# RFC 2920: a client that pipelines the whole transaction (EHLO to QUIT, content included)
# in one write gets every reply in order and the message is delivered; so does Postfix's
# smtp-source.
. "$SCN/lib.sh"

zone_mx pipe "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

printf 'EHLO client.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@pipe.example>\r\nRCPT TO:<u2@pipe.example>\r\nDATA\r\nSubject: piped\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_eq "$(grep -Ec '^(250 2\.1\.[05]|354|250 2\.0\.0 Ok: queued|221)' "$T/replies")" 6 "replies in order"
expect_reply '^250-PIPELINING' "PIPELINING advertised"
inject_source -m 3 -f a@src.example -t u3@pipe.example
wait_until '[ "$(sink_rcpts mx)" -ge 5 ]' 30 "5 recipients at the MX"
grep -l '^\.dot' "$T/sinks/mx"/t.* >/dev/null || fail "dot-stuffed line not restored"
wait_until queue_empty 20 "empty queue"
