# The daemon compiles the policy map at start when SPOOL/policy.lmdb is missing or older than
# one of the smtpd.policydb sources (docs/policy.md), as `sluice policy-build` would, and
# logs it; an up-to-date map is used as it is. A bad source line stops the start with
# FILE:LINE.
. "$SCN/lib.sh"

printf 'blocked@local.test reject\n' >"$T/policy.src"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.local_domains '[ "local.test" ]'
conf_set smtpd.policydb "[ \"$T/policy.src\" ]"
sluice_conf
MAP="$T/spool/policy.lmdb"
[ ! -e "$MAP" ] || fail "a map before the first start"

rcpt_reply() { # rcpt_reply TO: the RCPT reply
    printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" >"$T/in"
    smtp_talk "$T/in" | tail -2 | head -1
}

note "missing map: compiled at start"
sluice_start
log_has "policy: map $MAP is missing: compiling it from smtpd.policydb" || fail "no 'missing' log line"
log_has "policy: map $MAP compiled" || fail "no 'compiled' log line"
expect_eq "$(rcpt_reply blocked@local.test)" \
    "554 5.7.1 <blocked@local.test>: Recipient address rejected: Access denied" "compiled map used"
sluice_stop

note "up-to-date map: used as it is"
n=$(log_count "compiling it from smtpd.policydb")
sluice_start
expect_eq "$(log_count "compiling it from smtpd.policydb")" "$n" "compilations after a restart"
sluice_stop

note "source newer than the map: compiled again"
printf 'blocked@local.test reject\nother@local.test tempfail "later"\n' >"$T/policy.src"
touch -d '+1 second' "$T/policy.src"
sluice_start
log_has "policy: map $MAP is older than $T/policy.src: compiling it from smtpd.policydb" ||
    fail "no 'older' log line"
expect_eq "$(rcpt_reply other@local.test)" \
    "450 4.7.1 <other@local.test>: Recipient address rejected: later" "recompiled map used"
sluice_stop

note "a bad line in a newer source: the daemon does not start"
printf 'blocked@local.test frobnicate\n' >"$T/policy.src"
touch -d '+2 seconds' "$T/policy.src"
rc=0
timeout 20 "$SLUICE" run -c "$CONF" >"$T/run.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "sluice run with a bad source: exit $rc"
grep -q "$T/policy.src:1: " "$T/run.out" || fail "no FILE:LINE: $(cat "$T/run.out")"
