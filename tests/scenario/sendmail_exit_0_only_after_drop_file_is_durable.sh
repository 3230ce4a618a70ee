# A non-root sendmail exits 0 once its drop file is fsynced in spool/maildrop, whether or not
# the daemon runs: with the daemon stopped the file waits there (the exit 0 is the promise),
# and the daemon started again picks it up and delivers it; a hand-made damaged file is moved
# aside as .bad.NAME, never deleted.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

zone_mx rcpt "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
maildrop_bin
sluice_start
wait_until 'log_has "sluice .* started"' 20 "the daemon set up (maildrop made)"
sluice_stop
as_user "printf 'Subject: while down\n\nx\n' | SLUICE_CONF=$CONF $T/bin/sendmail u1@rcpt.example" \
    >"$T/sm.out" 2>&1 || fail "sendmail with the daemon stopped: $(cat "$T/sm.out")"
expect_eq "$(ls "$T/spool/maildrop" | wc -l)" 1 "drop files waiting"
expect_eq "$(stat -c '%U' "$T/spool/maildrop"/*)" sluicetest "drop file owner"
printf 'sluice-maildrop 1\nS x@y\nF 0\nE \n\n' >"$T/spool/maildrop/damaged"
sluice_start
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the dropped message at the MX after the restart"
grep -q '^Subject: while down' "$T/sinks/mx"/t.* || fail "wrong message delivered"
wait_until '[ -f "$T/spool/maildrop/.bad.damaged" ]' 10 "the damaged file moved aside"
log_has 'pickup: damaged: head incomplete' || fail "no log line for the damaged file"
expect_eq "$(ls "$T/spool/maildrop" | wc -l)" 0 "drop files left"
