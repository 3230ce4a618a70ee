# `sendmail -q` (`sluice submit -q`) asks the running daemon for a queue run. With no daemon
# (never started, stopped cleanly, or killed so its socket file is left behind) nothing would
# run the queue: it says so on stderr and exits 75 (EX_TEMPFAIL) instead of claiming "queue
# run requested". With the daemon up it exits 0.
. "$SCN/lib.sh"

ln -s "$SLUICE" "$T/sendmail"
sluice_conf

# q_without_daemon WHEN: both names must refuse with 75 and a clear message.
q_without_daemon() {
    local rc prog
    for prog in "$SLUICE submit" "$T/sendmail"; do
        rc=0
        $prog -c "$CONF" -q >"$T/q.out" 2>"$T/q.err" || rc=$?
        expect_eq "$rc" 75 "exit status of '$prog -q' $1"
        grep -q 'no sluice daemon is running' "$T/q.err" ||
            fail "'$prog -q' $1: stderr does not say no daemon runs: $(cat "$T/q.err")"
        grep -q 'queue run requested' "$T/q.out" "$T/q.err" &&
            fail "'$prog -q' $1 claims a queue run: $(cat "$T/q.out" "$T/q.err")"
    done
    return 0
}

q_without_daemon "before the daemon ever ran"
sluice_start
rc=0
"$T/sendmail" -c "$CONF" -q >"$T/q.out" 2>&1 || rc=$?
expect_eq "$rc" 0 "exit status of sendmail -q with the daemon up ($(cat "$T/q.out"))"
grep -q 'queue run requested' "$T/q.out" || fail "sendmail -q with the daemon up: $(cat "$T/q.out")"
sluice_stop
q_without_daemon "after the daemon stopped"
sluice_start
sluice_kill9
[ -S "$T/spool/incoming.sock" ] || fail "no stale incoming.sock after kill -9 (test premise)"
q_without_daemon "after the daemon was killed (stale socket file)"
exit 0
