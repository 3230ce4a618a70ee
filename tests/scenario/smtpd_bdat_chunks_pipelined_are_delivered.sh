# RFC 3030 CHUNKING: BDAT chunks (counted, not dot-stuffed) and BDAT LAST, pipelined with
# MAIL and RCPT in one write, make one message that is delivered; a BDAT outside a
# transaction is read and refused with 503.
. "$SCN/lib.sh"

zone_mx chunk "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

printf 'EHLO client.example\r\nBDAT 4\r\nxyz\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@chunk.example>\r\nBDAT 20\r\nSubject: chunked\r\n\r\nBDAT 12 LAST\r\n.not a dot\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250-CHUNKING' "CHUNKING advertised"
expect_reply '^503 5\.5\.1' "BDAT without a transaction"
expect_reply '^250 2\.0\.0 Ok: 20 octets received' "first chunk"
expect_reply '^250 2\.0\.0 Ok: queued as' "last chunk"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the message at the MX"
grep -l '^Subject: chunked' "$T/sinks/mx"/t.* >/dev/null || fail "header not delivered"
grep -l '^\.not a dot' "$T/sinks/mx"/t.* >/dev/null || fail "BDAT content was dot-unstuffed"
