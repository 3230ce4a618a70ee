# RFC 5321 §2.3.8: a command line must end with CRLF. A command ended by a bare LF gets
# "521 5.5.2 HOST Error: bare <LF> received" and the connection is closed (nothing after it
# is answered), as Postfix with smtpd_forbid_bare_newline = reject and reject code 521.
# Clients in smtpd.bare_newline_networks may end commands with a bare LF (legacy clients).
# Inside DATA a bare LF is content (stored as CRLF) for everyone, only <CRLF>.<CRLF> ends
# the message, and a lone "." next to a bare LF is content, delivered as a "." line.
. "$SCN/lib.sh"

zone_mx bare "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

note "default: a bare LF after a command is refused 521 and the connection closed"
printf 'EHLO c.example\r\nNOOP\nNOOP\r\nQUIT\r\n' >"$T/in"
start=$SECONDS
smtp_talk "$T/in" >"$T/replies"
expect_le $((SECONDS - start)) 10 "seconds until the server closed"
expect_eq "$(tail -n 1 "$T/replies")" "521 5.5.2 sluice.example Error: bare <LF> received" "last reply"
expect_eq "$(grep -c '^250 2\.0\.0 Ok' "$T/replies")" 0 "NOOPs answered (none: closed)"
log_has 'client=\[127\.0\.0\.1\]: bare <LF> received, disconnecting' || fail "no log line"

note "default: a lone dot next to a bare LF inside DATA is content"
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@bare.example>\r\nDATA\r\nSubject: dots\r\n\r\nbefore\n.\nmiddle\r\n.\nafter\n.\r\nlast\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2\.0\.0 Ok: queued' "message with lone dots accepted"
expect_reply '^221 ' "QUIT answered"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the message at the MX"
f=$(grep -l '^Subject: dots' "$T/sinks/mx"/t.*)
body=$(sed -n '/^Subject: dots/,$p' "$f" | tr -d '\r' | sed -n '3,9p' | tr '\n' '|')
expect_eq "$body" "before|.|middle|.|after|.|last|" "content lines at the MX"

note "bare_newline_networks: the same client may end commands with a bare LF"
sluice_stop
conf_set smtpd.bare_newline_networks '["127.0.0.1/32"]'
sluice_conf
sluice_start
printf 'EHLO c.example\nMAIL FROM:<a@src.example>\nRCPT TO:<u2@bare.example>\nDATA\nSubject: legacy\n\nline\n.\nMAIL FROM:<evil@src.example>\nend\r\n.\r\nQUIT\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2\.0\.0 Ok: queued' "legacy client's message accepted"
expect_reply '^221 ' "QUIT with a bare LF answered"
expect_eq "$(grep -c '^521 ' "$T/replies")" 0 "521 replies"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "the legacy message at the MX"
f=$(grep -l '^Subject: legacy' "$T/sinks/mx"/t.*)
body=$(sed -n '/^Subject: legacy/,$p' "$f" | tr -d '\r' | sed -n '3,6p' | tr '\n' '|')
expect_eq "$body" "line|.|MAIL FROM:<evil@src.example>|end|" "legacy content (\\n.\\n did not end it)"
