# RFC 1870 SIZE: the limit is advertised; MAIL with a declared SIZE over it gets 552 5.3.4,
# and content over it (undeclared) gets 552 5.3.4 at the end of DATA and of BDAT, after
# being read without being buffered; the session goes on.
. "$SCN/lib.sh"

conf_set smtpd.max_message_size 2000
sluice_start

body=$(for i in $(seq 1 30); do printf '%099d\r\n' 0; done)
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example> SIZE=5000\r\nMAIL FROM:<a@src.example> SIZE=100\r\nRCPT TO:<u@dst.example>\r\nDATA\r\n%s\r\n.\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u@dst.example>\r\nBDAT %d LAST\r\n%s\r\nNOOP\r\nQUIT\r\n' "$body" $((${#body} + 2)) "$body" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250-SIZE 2000$' "SIZE advertised"
expect_eq "$(grep -c '^552 5\.3\.4' "$T/replies")" 3 "552 replies (MAIL, DATA, BDAT)"
expect_reply '^250 2\.0\.0 Ok$' "NOOP after the refused messages"
expect_eq "$(mailq_count)" 0 "queued recipients"
