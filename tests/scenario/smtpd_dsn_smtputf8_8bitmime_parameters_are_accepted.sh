# DSN (RFC 3461: RET, ENVID, NOTIFY, ORCPT with xtext), 8BITMIME and SMTPUTF8 (RFC 6531: a
# UTF-8 sender is accepted with SMTPUTF8 and refused 553 5.6.7 without it) are accepted and
# the message is delivered; the Received header says UTF8SMTP.
. "$SCN/lib.sh"

zone_mx dsn "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<j\xc3\xb6rg@src.example>\r\nMAIL FROM:<j\xc3\xb6rg@src.example> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=id+2B1\r\nRCPT TO:<u1@dsn.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u1+40dsn.example\r\nRCPT TO:<u2@dsn.example> NOTIFY=NEVER\r\nRCPT TO:<u3@dsn.example> NOTIFY=NEVER,DELAY\r\nDATA\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^553 5\.6\.7' "UTF-8 sender without SMTPUTF8"
expect_reply '^501 5\.5\.4 Bad NOTIFY' "NOTIFY=NEVER with another keyword"
expect_reply '^250 2\.0\.0 Ok: queued as' "message accepted"
expect_eq "$(grep -c '^250 2\.1\.5' "$T/replies")" 2 "recipients accepted"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "2 recipients at the MX"
grep -l 'with UTF8SMTP id' "$T/sinks/mx"/t.* >/dev/null || fail "Received does not say UTF8SMTP"
