# `sluice check-config`: prints "ok" (exit 0) for a valid file, and "FILE:LINE: message"
# (exit 1) for an unknown key, a wrong type, a syntax error and a bad log path template, with
# the right LINE.
. "$SCN/lib.sh"

sluice_conf
out=$("$SLUICE" check-config -c "$CONF" 2>&1)
rc=$?
expect_eq "$rc" 0 "exit status for the test config"
expect_eq "$out" ok "output for the test config"

# check_bad NAME LINE: $T/NAME.conf must be rejected with "$T/NAME.conf:LINE: ...".
check_bad() {
    local out rc=0
    out=$("$SLUICE" check-config -c "$T/$1.conf" 2>&1) || rc=$?
    expect_eq "$rc" 1 "exit status for $1.conf"
    echo "$out" | grep -Eq "^$T/$1\.conf:$2: .+" ||
        fail "output for $1.conf: got '$out', want '$T/$1.conf:$2: message'"
}
printf 'spool = "%s";\ndeliver = {\n    maxrecips = 5;\n    bogus_key = 1;\n};\n' "$T/spool" >"$T/unknown.conf"
check_bad unknown 4
printf 'spool = "%s";\n\ndeliver = {\n    maxrecips = "many";\n};\n' "$T/spool" >"$T/type.conf"
check_bad type 4
printf 'spool = "%s";\ndeliver = {\n    maxmessages = 3;\n    maxrecips = = 5;\n};\n' "$T/spool" >"$T/syntax.conf"
check_bad syntax 4
printf 'spool = "%s";\ndeliver = {\n    audit = "%%DIRLOG%%/audit-%%Q%%.log";\n};\n' "$T/spool" >"$T/template.conf"
check_bad template 3
