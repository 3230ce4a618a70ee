# `sluice ctl reload` runs the daemon's reload, the one SIGHUP runs: the same log line
# follows each, the reply carries its text, and the daemon keeps running (SIGHUP never
# kills). A configuration file that no longer loads makes `ctl reload` exit 1 with the
# FILE:LINE reason, and the running configuration stays.
. "$SCN/lib.sh"

dns_start
sluice_start
kill -HUP "$SLUICE_PID"
wait_until '[ "$(log_count "reloaded .*: new sessions")" -eq 1 ]' 10 "reload after SIGHUP"
log_has "signal 1: reloading the configuration" || fail "no SIGHUP log line"
ctl_ok reload
grep -q "^reloaded $CONF" "$T/ctl.out" || fail "reply to reload: $(cat "$T/ctl.out")"
wait_until '[ "$(log_count "reloaded .*: new sessions")" -eq 2 ]' 10 "reload after ctl reload"
log_has "ctl: uid 0 pid [0-9]+: reload" || fail "no ctl reload log line"

note "a broken file: refused, the daemon goes on"
cp "$CONF" "$T/conf.good"
printf 'deliver: { maxconnections = "lots"; };\n' >>"$CONF"
rc=0 # the client reads the good copy (the socket's path); the daemon re-reads $CONF
"$SLUICE" ctl -c "$T/conf.good" reload >"$T/ctl.out" 2>"$T/ctl.err" || rc=$?
expect_eq "$rc" 1 "ctl reload exit status with a broken file"
grep -q "sluice.conf:[0-9]*: " "$T/ctl.err" || fail "no FILE:LINE reason: $(cat "$T/ctl.err")"
log_has "reload refused, the running configuration stays" || fail "no refusal log line"
cp "$T/conf.good" "$CONF"
sluice_alive || fail "the daemon died"
sluice_stop
