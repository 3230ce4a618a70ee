# The unit under a real systemd (PID 1 of a container on a throwaway root, lib.sh
# systemd_boot) after `make install PREFIX=/usr`, no spool and no running daemon before:
# `systemctl start sluice` returns once the daemon said READY=1, and the SMTP port accepts
# at that moment; the daemon runs as sluice with no capability, no new privileges, a
# read-only file system but for the spool, a private /tmp; STATUS= shows the queue, and
# follows it when mail is submitted; `systemctl reload` (SIGHUP) completes with the same
# process; with WatchdogSec= (a drop-in) WATCHDOG=1 keeps coming;
# `systemctl stop` ends it cleanly (exit 0) and the queue survives a restart.
. "$PKG/lib.sh"

root_make
in_root make -s -C "$ROOT" install PREFIX=/usr >"$T/install.out" 2>&1 ||
    fail "make install: $(tail -5 "$T/install.out")"
rm -rf "$R/var/spool/sluice"
# The daemon resolves through 127.0.0.1 (nothing answers: lookups fail at once, mail waits).
sed -i 's|^\( *\)forwarders = .*|\1forwarders = [ "127.0.0.1@53" ];|' "$R/etc/sluice/sluice.conf"
systemd_boot

# show PROP: one property of sluice.service.
show() {
    in_systemd systemctl show -P "$1" sluice
}
note "systemctl start: returns after READY=1"
in_systemd systemctl start sluice >"$T/start.out" 2>&1 ||
    fail "systemctl start sluice: $(cat "$T/start.out"; in_systemd journalctl -u sluice --no-pager | tail -20)"
(exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null || fail "port 25 does not accept right after systemctl start returned"
expect_eq "$(show ActiveState)/$(show SubState)" "active/running" "state after start"
status=$(show StatusText)
expect_eq "$status" "queue: 0 messages, 0 recipients (0 in delivery); delivered 0, deferred 0, bounced 0" "StatusText"

note "the sandbox, as the daemon sees it"
pid=$(show MainPID)
in_systemd cat "/proc/$pid/status" >"$T/proc-status"
expect_eq "$(awk '/^Uid:/ { print $2 "," $3 }' "$T/proc-status")" "$(in_root id -u sluice),$(in_root id -u sluice)" "uid of the daemon"
expect_eq "$(awk '/^CapEff:/ { print $2 }' "$T/proc-status")" 0000000000000000 "effective capabilities"
expect_eq "$(awk '/^CapBnd:/ { print $2 }' "$T/proc-status")" 00000000000004cb "capability bounding set"
expect_eq "$(awk '/^NoNewPrivs:/ { print $2 }' "$T/proc-status")" 1 "NoNewPrivs"
in_systemd cat "/proc/$pid/mountinfo" >"$T/mountinfo"
mnt_opts() { # the options of the mount at exactly PATH in the daemon's namespace
    awk -v p="$1" '$5 == p { o = $6 } END { print o }' "$T/mountinfo"
}
case $(mnt_opts /) in ro,* | ro) ;; *) fail "/ is not read-only for the daemon: $(mnt_opts /)" ;; esac
case $(mnt_opts /var/spool/sluice) in rw,* | rw) ;; *) fail "the spool is not writable for the daemon: '$(mnt_opts /var/spool/sluice)'" ;; esac
case $(mnt_opts /tmp) in rw,*) ;; *) fail "no private /tmp for the daemon: '$(mnt_opts /tmp)'" ;; esac
# 0710 group sluicedrop when that group exists (non-root sendmail's maildrop), else 0700.
if in_root getent group sluicedrop >/dev/null; then
    expect_eq "$(in_root stat -c '%U %G %a' /var/spool/sluice)" "sluice sluicedrop 710" \
        "spool made by ExecStartPre= and given to sluice"
else
    expect_eq "$(in_root stat -c '%U %a' /var/spool/sluice)" "sluice 700" \
        "spool made by ExecStartPre= and given to sluice"
fi
in_systemd journalctl -u sluice --no-pager >"$T/journal" 2>&1
grep -q "running as user sluice" "$T/journal" || fail "journal: $(tail -5 "$T/journal")"

note "STATUS= follows the queue"
printf 'Subject: queued\n\nbody\n' | in_systemd sendmail -f root@localhost a@nowhere.example b@nowhere.example ||
    fail "sendmail exited $?"
wait_until '[ "$(show StatusText | cut -d";" -f1)" = "queue: 1 messages, 2 recipients (0 in delivery)" ]' 10 \
    "StatusText with the submitted message"

note "systemctl reload: SIGHUP, RELOADING=1, READY=1, same process"
in_systemd systemctl reload sluice || fail "systemctl reload sluice: $(in_systemd systemctl status sluice --no-pager | tail -5)"
# systemd 252 ends the reload job when ExecReload= exits; READY=1 follows once the
# configuration is re-read (RELOADING=1 .. READY=1): wait for it, same process.
wait_until '[ "$(show ActiveState)/$(show SubState)/$(show MainPID)" = "active/running/$pid" ]' 10 \
    "active/running/$pid after the reload"
wait_until 'in_systemd journalctl -u sluice --no-pager | grep -q "reloaded /etc/sluice/sluice.conf"' 5 "the reload in the journal"

note "stop, then start again: the queue is kept"
in_systemd systemctl stop sluice || fail "systemctl stop sluice"
expect_eq "$(show ActiveState)" inactive "state after stop"
expect_eq "$(show Result)/$(show ExecMainStatus)" "success/0" "result and exit status after stop"
in_systemd systemctl start sluice || fail "second systemctl start"
wait_until '[ "$(show StatusText | cut -d";" -f1)" = "queue: 1 messages, 2 recipients (0 in delivery)" ]' 10 \
    "StatusText after the restart (recovered queue)"

note "WatchdogSec= (drop-in): WATCHDOG=1 keeps the daemon alive"
mkdir -p "$R/etc/systemd/system/sluice.service.d"
printf '[Service]\nWatchdogSec=1s\n' >"$R/etc/systemd/system/sluice.service.d/watchdog.conf"
in_systemd systemctl daemon-reload
in_systemd systemctl restart sluice || fail "systemctl restart with WatchdogSec=1s"
first=$(show WatchdogTimestampMonotonic)
wait_until '[ "$(show WatchdogTimestampMonotonic)" != "$first" ]' 5 "a watchdog ping"
second=$(show WatchdogTimestampMonotonic)
wait_until '[ "$(show WatchdogTimestampMonotonic)" != "$second" ]' 5 "a second watchdog ping"
pid2=$(show MainPID)
expect_eq "$(show NRestarts)" 0 "restarts by the watchdog"
in_systemd journalctl -u sluice --no-pager | grep -q "service manager watchdog: every 500 ms" ||
    fail "the daemon did not log its watchdog period"
in_systemd systemctl stop sluice || fail "last systemctl stop"
expect_eq "$(show Result)" success "result of the last stop (pid $pid2)"
exit 0
