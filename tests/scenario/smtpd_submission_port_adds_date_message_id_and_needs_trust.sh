# Submission (RFC 6409) on submission_listen: a client outside trusted_networks cannot send
# (530 5.7.0 until AUTH exists); for a trusted one, missing Date and Message-ID headers are
# added; port 25 leaves the header as it is.
. "$SCN/lib.sh"

zone_mx sub "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
conf_set smtpd.submission_listen '[ "127.0.0.1:2587" ]'
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
sluice_start
wait_until 'port_open 127.0.0.1 2587' 10 "submission port"
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@sub.example>\r\nDATA\r\nSubject: via 587\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" 127.0.0.1 2587 >"$T/replies"
expect_reply '^250 2\.0\.0 Ok: queued' "trusted client on 587"
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u2@sub.example>\r\nDATA\r\nSubject: via 25\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
swaks --server 127.0.0.1:2587 --local-interface 127.0.0.50 --from a@src.example --to u@sub.example \
    --quit-after RCPT >"$T/swaks.out" 2>&1 && fail "untrusted client accepted on 587"
grep -q '<[~*]* 530 5\.7\.0' "$T/swaks.out" || fail "no 530: $(grep '<~* [45]' "$T/swaks.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "2 messages at the MX"
f587=$(grep -l '^Subject: via 587' "$T/sinks/mx"/t.*)
f25=$(grep -l '^Subject: via 25' "$T/sinks/mx"/t.*)
grep -q '^Date: ' "$f587" || fail "no Date added on 587"
grep -q '^Message-ID: <[0-9A-F]*@sluice\.example>' "$f587" || fail "no Message-ID added on 587"
grep -q '^Date: ' "$f25" && fail "Date added on port 25"
true
