# A message deleted while an attempt of it is in flight is not retried and gets no report:
# the MX waits 3 s before every reply and answers 451, retries are every second. The
# message is deleted while its first attempt runs (the connection is busy); the attempt's
# 451 is logged as ending after the delete, nothing is deferred or bounced, no second
# attempt follows, the queue is empty, the spool has no record of it.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --delay-ms 1500 --tempfail-rcpt '.=451 4.3.0 try again later'
sluice_start

inject_swaks sender@src.example a@one.example
wait_until 'ctl conns && grep -q busy "$T/ctl.out"' 20 "the attempt in flight"
ctl_ok queue --json
grep -q '"active":1' "$T/ctl.out" || fail "not active: $(cat "$T/ctl.out")"
A=$(sed -nE 's/.* ([0-9A-F]{16}): client=.*/\1/p' "$SLUICE_LOG" | head -1)
ctl_ok delete "$A"
"$SLUICE" cat -c "$CONF" "$A" >/dev/null 2>&1 && fail "still in the spool after delete"
wait_until 'log_has "$A: to=<a@one\.example>, attempt ended after the message was deleted"' 30 \
    "the attempt's end"
expect_eq "$(ctl_where "$A" a@one.example)" gone "A after the attempt"
# retries are every second: three more seconds would show a retry
t_end=$(( $(date +%s) + 3 ))
wait_until '[ "$(date +%s)" -ge '"$t_end"' ]' 10 "3 s"
expect_eq "$(log_count 'status=(deferred|bounced)')" 0 "deferrals and bounces logged"
expect_eq "$(log_count 'to=<a@one\.example>')" 1 "attempts logged (one, ended after the delete)"
ctl_ok queue
expect_eq "$(wc -l <"$T/ctl.out")" 1 "queue lines (the header only)"
