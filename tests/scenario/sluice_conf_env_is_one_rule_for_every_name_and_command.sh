# One rule finds the configuration for every program name (sluice, sendmail, mailq) and every
# subcommand (run, check-config, submit, mailq, verp-decode, sendmail -bp/-q): -c FILE or
# --config FILE, else $SLUICE_CONF, else /etc/sluice/sluice.conf. Here the daemon and every
# tool find the test configuration through $SLUICE_CONF alone; -c/--config beat a broken
# $SLUICE_CONF; without either, the built-in default path is the one named.
. "$SCN/lib.sh"

ln -s "$SLUICE" "$T/sendmail"
ln -s "$SLUICE" "$T/mailq"
zone_mx now "10 mx"
zone_a mx 127.0.0.3
zone_mx later "10 mxlater"
zone_a mxlater 127.0.0.4 # nothing listens there: mail stays deferred in the queue
dns_start
sink_start mx 127.0.0.3
conf_set deliver.verp_delimiters '"-#"'
conf_set deliver.interval '"1h"'
sluice_conf
printf 'bogus_key = 1;\n' >"$T/bad.conf"

# env_run WHAT CMD...: CMD with only $SLUICE_CONF naming the configuration; must exit 0.
env_run() {
    local what=$1
    shift
    SLUICE_CONF="$CONF" "$@" >"$T/env.out" 2>"$T/env.err" ||
        fail "$what with \$SLUICE_CONF: exit $?: $(cat "$T/env.err")"
}

note "check-config"
env_run "sluice check-config" "$SLUICE" check-config
expect_eq "$(cat "$T/env.out")" ok "sluice check-config output"

note "run: the daemon started without -c"
echo "=== sluice run (SLUICE_CONF) $(date +%T.%N)" >>"$SLUICE_LOG"
SLUICE_CONF="$CONF" "$SLUICE" run >>"$SLUICE_LOG" 2>&1 &
SLUICE_PID=$!
wait_until 'sluice_alive || fail "sluice exited: $(tail -5 "$SLUICE_LOG")"; port_open 127.0.0.1 $SMTP_PORT' \
    20 "sluice run (configured by \$SLUICE_CONF) listening on 127.0.0.1:$SMTP_PORT"

note "submit under both names"
printf 'Subject: one\n\nx\n' | env_run "sendmail" "$T/sendmail" -f a@src.example u1@now.example
printf 'Subject: two\n\nx\n' | env_run "sluice submit" "$SLUICE" submit -f a@src.example u2@now.example
printf 'Subject: three\n\nx\n' | env_run "sendmail" "$T/sendmail" -f a@src.example u3@later.example
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "u1 and u2 delivered by the daemon"
wait_until '[ "$(mailq_count deferred)" -eq 1 ]' 30 "u3 deferred"

note "the queue under every name"
for cmd in "$T/mailq" "$SLUICE mailq" "$T/sendmail -bp" "$SLUICE submit -bp"; do
    env_run "$cmd" $cmd
    grep -q 'u3@later\.example' "$T/env.out" || fail "$cmd does not list the queue: $(cat "$T/env.out")"
done
env_run "sendmail -q" "$T/sendmail" -q
grep -q 'queue run requested' "$T/env.out" || fail "sendmail -q: $(cat "$T/env.out")"
wait_until 'log_has "flush: .* made due"' 20 "the daemon's queue run after sendmail -q"

note "verp-decode reads the delimiters of \$SLUICE_CONF"
env_run "sluice verp-decode" "$SLUICE" verp-decode 'list-joe#dom.example@lists.example'
expect_eq "$(cat "$T/env.out")" joe@dom.example "verp-decode with the delimiters \"-#\""

note "-c and --config beat \$SLUICE_CONF"
for cmd in "$SLUICE check-config" "$SLUICE mailq" "$T/mailq"; do
    for opt in -c --config; do
        SLUICE_CONF="$T/bad.conf" $cmd $opt "$CONF" >"$T/c.out" 2>&1 ||
            fail "$cmd $opt FILE with a broken \$SLUICE_CONF: $(cat "$T/c.out")"
    done
done
rc=0
SLUICE_CONF="$T/bad.conf" "$SLUICE" check-config >"$T/c.out" 2>&1 || rc=$?
expect_eq "$rc" 78 "check-config with only a broken \$SLUICE_CONF"
grep -q "^$T/bad.conf:1: unknown key 'bogus_key'" "$T/c.out" || fail "check-config error: $(cat "$T/c.out")"

note "neither: the built-in default"
if [ -e /etc/sluice/sluice.conf ]; then
    echo "SKIP: /etc/sluice/sluice.conf exists on this machine"
else
    for cmd in "$SLUICE check-config" "$SLUICE mailq" "$T/mailq" "$T/sendmail -bp"; do
        rc=0
        env -u SLUICE_CONF $cmd >"$T/d.out" 2>&1 || rc=$?
        expect_eq "$rc" 78 "exit status of $cmd without -c and \$SLUICE_CONF"
        grep -q '^/etc/sluice/sluice.conf:0: cannot open' "$T/d.out" || fail "$cmd: $(cat "$T/d.out")"
        rc=0
        SLUICE_CONF= $cmd >"$T/d.out" 2>&1 || rc=$?
        grep -q '^/etc/sluice/sluice.conf:0: cannot open' "$T/d.out" ||
            fail "$cmd with an empty \$SLUICE_CONF: $(cat "$T/d.out")"
    done
fi
sluice_stop
exit 0
