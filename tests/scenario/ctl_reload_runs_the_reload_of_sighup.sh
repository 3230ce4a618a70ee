# `sluice ctl reload` runs the daemon's reload, the one SIGHUP runs: the same log line
# follows each, and the daemon keeps running (SIGHUP never kills).
. "$SCN/lib.sh"

dns_start
sluice_start
kill -HUP "$SLUICE_PID"
wait_until '[ "$(log_count "reloading TLS certificates")" -eq 1 ]' 10 "reload after SIGHUP"
log_has "signal 1: reload" || fail "no SIGHUP log line"
ctl_ok reload
expect_eq "$(cat "$T/ctl.out")" "reloaded" "reply to reload"
wait_until '[ "$(log_count "reloading TLS certificates")" -eq 2 ]' 10 "reload after ctl reload"
log_has "ctl: uid 0 pid [0-9]+: reload" || fail "no ctl reload log line"
sluice_alive || fail "the daemon died"
sluice_stop
