# `sluice ctl` exits 0 on success and 1 with one line on stderr otherwise: an unknown queue
# id (every message command and show), a malformed request, no daemon. On the socket itself
# malformed, oversized and non-ASCII requests get "ERR reason" and the session goes on; a
# local user who is neither root nor the daemon's user or group is refused and logged.
. "$SCN/lib.sh"

dns_start
mkdir -m 755 "$T/pub"
conf_set ctl.socket "\"$T/pub/ctl.sock\""
sluice_start

for cmd in hold release delete requeue bounce show; do
    rc=0
    ctl $cmd 00000000DEADBEEF || rc=$?
    expect_eq "$rc" 1 "exit status of $cmd of an unknown queue id"
    expect_eq "$(cat "$T/ctl.err")" "sluice ctl: no such message 00000000DEADBEEF" "stderr of $cmd"
    [ ! -s "$T/ctl.out" ] || fail "$cmd printed on stdout: $(cat "$T/ctl.out")"
done
rc=0
ctl hold not-a-qid || rc=$?
expect_eq "$rc" 1 "exit status of a malformed queue id"
grep -q "^sluice ctl: expected a queue id" "$T/ctl.err" || fail "malformed id: $(cat "$T/ctl.err")"
rc=0
ctl frobnicate || rc=$?
expect_eq "$rc" 1 "exit status of an unknown command"
expect_eq "$(wc -l <"$T/ctl.err")" 1 "lines on stderr"
ctl_ok version
grep -q '^sluice ' "$T/ctl.out" || fail "version: $(cat "$T/ctl.out")"

note "raw: errors keep the session"
python3 "$SCN/ctlraw.py" unix "$T/pub/ctl.sock" "queue --yaml" "@SIZE:2000" 'hold \xff' \
    "version" >"$T/raw.out"
grep -q '^ERR unexpected argument' "$T/raw.out" || fail "raw: $(cat "$T/raw.out")"
grep -q '^ERR request line too long' "$T/raw.out" || fail "raw: $(cat "$T/raw.out")"
grep -q '^ERR control or non-ASCII byte' "$T/raw.out" || fail "raw: $(cat "$T/raw.out")"
grep -q '^OK sluice ' "$T/raw.out" || fail "raw: session did not go on: $(cat "$T/raw.out")"
log_has "ctl: uid 0 pid [0-9]+: bad request: unexpected argument" || fail "bad request not logged"

note "a local user that is not allowed"
chmod 666 "$T/pub/ctl.sock" # as a careless administrator might: the credentials still count
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SLUICE" ctl -c "$CONF" queue \
    >"$T/ctl.out" 2>"$T/ctl.err" || rc=$?
expect_eq "$rc" 1 "exit status for uid nobody"
expect_eq "$(cat "$T/ctl.err")" "sluice ctl: permission denied" "stderr for uid nobody"
wait_until 'log_has "refused a client on the control socket: uid [0-9]+"' 10 "refusal logged"

note "no daemon"
sluice_stop
rc=0
ctl queue || rc=$?
expect_eq "$rc" 1 "exit status without a daemon"
grep -q "is the daemon running" "$T/ctl.err" || fail "no-daemon message: $(cat "$T/ctl.err")"
