# Under a service manager (Type=notify: systemd/sluice.service) the daemon says READY=1
# only once its listener accepts connections and the mail it found in the spool is
# scheduled, keeps STATUS= up to date with the size of the queue, sends WATCHDOG=1 every
# half $WATCHDOG_USEC, RELOADING=1 then READY=1 around a SIGHUP reload, and STOPPING=1 on
# SIGTERM (sd_notify(3), core/notify.c). The
# manager's socket is notifysock.py at $NOTIFY_SOCKET; it connects to the SMTP port the
# moment READY=1 arrives. The daemon sends all of it after dropping privileges to sluice.
. "$SCN/lib.sh"

N=$T/notify.log
# notified KEY=VALUE-REGEX: true when a datagram carried a matching assignment.
notified() {
    grep -Eq -- "	$1\$" "$N" 2>/dev/null
}

zone_mx later "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
# Recovered recipients wait an hour: the queue keeps them, so its size is known.
conf_set deliver.delay_start '"1h"'
sluice_conf

note "stored while no daemon runs: 1 message, 2 recipients"
printf 'Subject: recovered\n\nstored before the start\n' |
    submit sender@src.example old1@later.example old2@later.example

: >"$N"
bg_start notifysock python3 "$SCN/notifysock.py" "$T/notify.sock" "$N" --probe 127.0.0.1:$SMTP_PORT
wait_until '[ -S "$T/notify.sock" ]' 10 "the notification socket"
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000
sluice_start
unset NOTIFY_SOCKET WATCHDOG_USEC

wait_until 'notified "READY=1"' 10 "READY=1"
ready_seq=$(awk -F'\t' '$3 == "READY=1" { print $1; exit }' "$N")
first_seq=$(awk -F'\t' 'NR == 1 { print $1 }' "$N")
expect_eq "$ready_seq" "$first_seq" "datagram of READY=1 (the first one sent)"
expect_eq "$(awk -F'\t' -v s="$ready_seq" '$1 == s && $3 ~ /^probe=/ { print $3 }' "$N")" \
    "probe=ok" "connect to 127.0.0.1:$SMTP_PORT at READY=1"
expect_eq "$(awk -F'\t' -v s="$ready_seq" '$1 == s && $3 ~ /^STATUS=/ { print $3 }' "$N")" \
    "STATUS=queue: 1 messages, 2 recipients (0 in delivery); delivered 0, deferred 0, bounced 0" \
    "STATUS= sent with READY=1 (recovery done)"

note "a new message is delivered: STATUS= follows"
inject_swaks sender@src.example new@later.example
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 30 "the new message at the MX"
wait_until 'notified "STATUS=queue: 1 messages, 2 recipients \(0 in delivery\); delivered 1, deferred 0, bounced 0"' \
    10 "STATUS= after the delivery"

note "watchdog every 200 ms"
wait_until '[ "$(grep -c "	WATCHDOG=1$" "$N")" -ge 5 ]' 10 "five WATCHDOG=1"
log_has "service manager watchdog: every 200 ms" || fail "the watchdog period is not logged"
expect_eq "$(awk -F'\t' '$3 == "WATCHDOG=1" { if (p && $2 - p > 2000) print $2 - p; p = $2 }' "$N")" "" \
    "gaps over 2 s between WATCHDOG=1"

note "SIGHUP: RELOADING=1, then READY=1"
kill -HUP "$SLUICE_PID"
wait_until '[ "$(grep -c "	READY=1$" "$N")" -ge 2 ]' 10 "READY=1 after the reload"
expect_eq "$(awk -F'\t' '$3 ~ /^(RELOADING|READY)=1$/ { printf "%s ", $3 }' "$N")" \
    "READY=1 RELOADING=1 READY=1 " "READY/RELOADING datagrams in order"
grep -Eq "	MONOTONIC_USEC=[0-9]+$" "$N" || fail "no MONOTONIC_USEC= with RELOADING=1"
wait_until 'log_has "reloading TLS certificates"' 5 "the reload logged"
sluice_alive || fail "the daemon did not survive SIGHUP"

sluice_stop
wait_until 'notified "STOPPING=1"' 5 "STOPPING=1"
expect_eq "$(grep -c "	READY=1$" "$N")" 2 "READY=1 datagrams (start, reload)"
log_has "notification failed" && fail "a notification failed: $(grep 'notification failed' "$SLUICE_LOG")"
exit 0
