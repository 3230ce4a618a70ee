# `sluice check-config`: prints "ok" on stdout (exit 0) for a valid file, and
# "FILE:LINE: message" on stderr (exit 78, EX_CONFIG, like every other subcommand) for an
# unknown key, a wrong type, a syntax error and a bad log path template, with the right
# LINE; a `user` that names no account is an error too (the daemon could not start as root).
. "$SCN/lib.sh"

sluice_conf
out=$("$SLUICE" check-config -c "$CONF" 2>"$T/err")
rc=$?
expect_eq "$rc" 0 "exit status for the test config"
expect_eq "$out" ok "output for the test config"
[ -s "$T/err" ] && fail "stderr for the test config: $(cat "$T/err")"

# check_bad NAME LINE: $T/NAME.conf must be rejected with "$T/NAME.conf:LINE: ...".
check_bad() {
    local out rc=0
    out=$("$SLUICE" check-config -c "$T/$1.conf" 2>"$T/err") || rc=$?
    expect_eq "$rc" 78 "exit status for $1.conf"
    expect_eq "$out" "" "stdout for $1.conf"
    grep -Eq "^$T/$1\.conf:$2: .+" "$T/err" ||
        fail "stderr for $1.conf: got '$(cat "$T/err")', want '$T/$1.conf:$2: message'"
}
printf 'spool = "%s";\ndeliver = {\n    maxrecips = 5;\n    bogus_key = 1;\n};\n' "$T/spool" >"$T/unknown.conf"
check_bad unknown 4
printf 'spool = "%s";\n\ndeliver = {\n    maxrecips = "many";\n};\n' "$T/spool" >"$T/type.conf"
check_bad type 4
printf 'spool = "%s";\ndeliver = {\n    maxmessages = 3;\n    maxrecips = = 5;\n};\n' "$T/spool" >"$T/syntax.conf"
check_bad syntax 4
printf 'spool = "%s";\ndeliver = {\n    audit = "%%DIRLOG%%/audit-%%Q%%.log";\n};\n' "$T/spool" >"$T/template.conf"
check_bad template 3
getent passwd nosuchuser17 >/dev/null && fail "test premise: the user nosuchuser17 exists"
printf 'spool = "%s";\nuser = "nosuchuser17";\n' "$T/spool" >"$T/user.conf"
rc=0
out=$("$SLUICE" check-config -c "$T/user.conf" 2>"$T/err") || rc=$?
expect_eq "$rc" 78 "exit status for a user that does not exist"
expect_eq "$out" "" "stdout for a user that does not exist"
grep -q "^$T/user.conf: user 'nosuchuser17' does not exist" "$T/err" ||
    fail "stderr for a user that does not exist: $(cat "$T/err")"
printf 'spool = "%s";\nuser = "root";\n' "$T/spool" >"$T/root.conf"
expect_eq "$("$SLUICE" check-config -c "$T/root.conf" 2>&1)" ok "check-config with user root"
