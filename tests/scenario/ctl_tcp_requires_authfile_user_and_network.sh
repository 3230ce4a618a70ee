# The TCP control listener (ctl.listen) follows ZMailer's authfile model: nothing runs
# before "auth USER PASSWORD"; the user must be in ctl.authfile with the right crypt
# password and come from one of its networks; its attributes bound what it may run (read <
# queue-ops < admin). Every refusal gets "ERR reason" and a warning in the log. A line
# over the limit is refused; the password never reaches the log.
. "$SCN/lib.sh"

dns_start
H=$(openssl passwd -6 's3cret pass')
cat >"$T/ctl.auth" <<EOT
# user:hash:attributes:networks
admin:$H:admin:127.0.0.0/8, ::1
viewer:$H:read
far:$H:admin:10.0.0.0/8
EOT
chmod 600 "$T/ctl.auth"
conf_set ctl.listen '[ "127.0.0.1:9925" ]'
conf_set ctl.authfile "\"$T/ctl.auth\""
sluice_start
wait_until 'port_open 127.0.0.1 9925' 10 "ctl listener"
export SLUICE_CTL_PASSWORD='s3cret pass'

# tcpctl USER ARGS...: sluice ctl over TCP as USER (output in $T/ctl.out, $T/ctl.err).
tcpctl() {
    local u=$1
    shift
    "$SLUICE" ctl --tcp 127.0.0.1:9925 --user "$u" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
}

note "no auth: refused"
python3 "$SCN/ctlraw.py" tcp 127.0.0.1:9925 "queue" "stats" >"$T/raw.out"
expect_eq "$(head -1 "$T/raw.out")" "ERR authenticate first (auth USER PASSWORD)" "queue without auth"

note "admin from 127.0.0.1: everything"
tcpctl admin stats --json || fail "admin stats: $(cat "$T/ctl.err")"
grep -q '"counters"' "$T/ctl.out" || fail "admin stats output"
tcpctl admin pause example.net || fail "admin pause: $(cat "$T/ctl.err")"

note "wrong password"
rc=0
SLUICE_CTL_PASSWORD=wrong tcpctl admin queue || rc=$?
expect_eq "$rc" 1 "exit status with a wrong password"
expect_eq "$(cat "$T/ctl.err")" "sluice ctl: authentication failed" "stderr with a wrong password"
wait_until 'log_has "ctl: 127\.0\.0\.1: authentication failed"' 10 "the failure logged"

note "viewer (read): queue yes, delete no"
tcpctl viewer queue || fail "viewer queue: $(cat "$T/ctl.err")"
rc=0
tcpctl viewer delete --to '*@example.com' || rc=$?
expect_eq "$rc" 1 "exit status of delete as viewer"
expect_eq "$(cat "$T/ctl.err")" "sluice ctl: not allowed for this user" "stderr of delete as viewer"
rc=0
tcpctl viewer reload || rc=$?
expect_eq "$rc" 1 "exit status of reload as viewer"

note "far (admin, but only from 10.0.0.0/8)"
rc=0
tcpctl far queue || rc=$?
expect_eq "$rc" 1 "exit status of far from 127.0.0.1"
expect_eq "$(cat "$T/ctl.err")" "sluice ctl: not allowed from this network" "stderr of far"
log_has "user far not allowed from this network" || fail "network refusal not logged"

note "unknown user; oversized line"
rc=0
tcpctl nobody queue || rc=$?
expect_eq "$rc" 1 "exit status of an unknown user"
python3 "$SCN/ctlraw.py" tcp 127.0.0.1:9925 "@SIZE:5000" >"$T/raw.out"
expect_eq "$(head -1 "$T/raw.out")" "ERR request line too long" "oversized line"

! grep -q 's3cret' "$SLUICE_LOG" || fail "the password reached the log"
ctl_ok queue --json
grep -q '"destination":"example.net".*"state":"paused"' "$T/ctl.out" || fail "pause over TCP lost"
