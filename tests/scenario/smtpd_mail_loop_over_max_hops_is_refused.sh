# Loop detection: a message with more than max_hops Received headers is refused 554 5.4.6;
# with exactly max_hops it is accepted. The default is 100 (RFC 5321 §6.3: the threshold
# "SHOULD be at least 100"), so the test uses the default: 101 refused, 100 accepted.
. "$SCN/lib.sh"

sluice_start
hops() { for i in $(seq 1 "$1"); do printf 'Received: from h%d.example by x.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n' "$i"; done; }
{ printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u@dst.example>\r\nDATA\r\n'; hops 101; printf '\r\nx\r\n.\r\n';
  printf 'MAIL FROM:<a@src.example>\r\nRCPT TO:<u@dst.example>\r\nDATA\r\n'; hops 100; printf '\r\nx\r\n.\r\nQUIT\r\n'; } >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^554 5\.4\.6' "101 hops"
expect_eq "$(grep -c '^554 5\.4\.6' "$T/replies")" 1 "refusals (only the 101-hop message)"
expect_eq "$(grep -c '^250 2\.0\.0 Ok: queued' "$T/replies")" 1 "100 hops accepted"
