# `sluice submit` while the daemon runs: exit 0 once durable, and the daemon delivers it,
# both with recipients on the command line and with -t (recipients from the headers).
. "$SCN/lib.sh"

zone_mx sub "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

printf 'From: <author@src.example>\nTo: <ignored@sub.example>\nSubject: argv\n\nbody one\n' |
    submit author@src.example u1@sub.example u2@sub.example
printf 'From: <author@src.example>\nTo: <u3@sub.example>\nCc: u4@sub.example\nSubject: dash t\n\nbody two\n' |
    submit author@src.example -t
wait_until '[ "$(sink_rcpts mx)" -ge 4 ]' 30 "4 recipients at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list mx | sort | tr '\n' ' ')" "u1@sub.example u2@sub.example u3@sub.example u4@sub.example " \
    "recipients at the MX"
grep -l '^Subject: argv' "$T/sinks/mx"/t.* >/dev/null || fail "message 'argv' not found at the MX"
grep -l '^body two' "$T/sinks/mx"/t.* >/dev/null || fail "body of message 'dash t' not found at the MX"
