# cron runs `sendmail -FCronDaemon -odi -oem -oi -t` as the crontab's owner with "To: root":
# as the unprivileged user sluicetest that goes through the setgid helper into
# spool/maildrop; the daemon picks it up and delivers it as root@myorigin (myorigin is a
# domain this host does not deliver locally, so it goes out by MX), from sluicetest@hostname,
# with the full name CronDaemon; the maildrop is left empty.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

zone_mx cron "10 mx"
conf_set myorigin '"cron.example"'
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
maildrop_bin
sluice_start
expect_eq "$(stat -c '%G %a' "$T/spool/maildrop")" "sluicedrop 1730" "maildrop group and mode"
as_user "printf 'To: root\nSubject: Cron <sluicetest@host> true\n\nhello from cron\n' |
    SLUICE_CONF=$CONF $T/bin/sendmail -FCronDaemon -odi -oem -oi -t" >"$T/sm.out" 2>&1 ||
    fail "sendmail as sluicetest: $(cat "$T/sm.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the cron mail at the MX"
expect_eq "$(sink_rcpt_list mx)" "root@cron.example" "recipient"
f=$(ls "$T/sinks/mx"/t.*)
grep -q '^X-Mail-Args: <sluicetest@sluice.example>' "$f" || fail "sender: $(grep X-Mail-Args "$f")"
grep -q '^From: "CronDaemon" <sluicetest@sluice.example>' "$f" || fail "From: $(grep '^From' "$f")"
grep -q '^Received: by sluice.example (sluice pickup, from userid '"$(id -u sluicetest)"')' "$f" ||
    fail "no pickup Received line"
grep -q 'hello from cron' "$f" || fail "body lost"
log_has 'pickup: .*: queued as' || fail "no pickup log line"
expect_eq "$(ls -A "$T/spool/maildrop" | wc -l)" 0 "files left in the maildrop"
