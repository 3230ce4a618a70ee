# Hygiene on the way in: folded header lines are kept folded, bare LF becomes CRLF, only
# <CRLF>.<CRLF> ends DATA (no smuggling; a lone dot next to a bare LF is content), NUL octets are refused 554 5.6.0, lines over 998
# octets are refused 554 5.6.0 (or split with split_long_lines).
. "$SCN/lib.sh"

zone_mx hyg "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
long=$(head -c 1200 /dev/zero | tr '\0' 'L')
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@hyg.example>\r\nDATA\r\nSubject: folded\r\n second line\nX-Bare: lf\n\nbody\n.\nnot the end\r\n.\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u2@hyg.example>\r\nDATA\r\nnul \0 here\r\n.\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u3@hyg.example>\r\nDATA\r\n%s\r\n.\r\nQUIT\r\n' "$long" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^554 5\.6\.0 .*NUL' "NUL refused"
expect_reply '^554 5\.6\.0 .*998' "long line refused"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the clean message at the MX"
f=$(grep -l '^Subject: folded' "$T/sinks/mx"/t.*)
grep -q '^ second line' "$f" || fail "folding not preserved"
grep -q '^X-Bare: lf' "$f" || fail "bare-LF header lost"
grep -q "^not the end" "$f" || fail "a dot line after a bare LF ended the content"
expect_eq "$(sed -n '/^body/,/^not the end/p' "$f" | tr -d '\r' | tr '\n' '|')" "body|.|not the end|" \
    "a lone dot after a bare LF (content, kept)"
sluice_stop
conf_set smtpd.split_long_lines true
sluice_conf
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u4@hyg.example>\r\nDATA\r\nSubject: long\r\n\r\n%s\r\n.\r\nQUIT\r\n' "$long" >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2\.0\.0 Ok: queued' "long line split"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "the split message at the MX"
f=$(grep -l '^Subject: long' "$T/sinks/mx"/t.*)
expect_eq "$(grep -c '^L' "$f")" 2 "pieces of the split line"
