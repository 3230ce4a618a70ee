# Policy database (docs/policy.md): `sluice policy-build` compiles smtpd.policydb into
# SPOOL/policy.lmdb; at RCPT the client's record (full_rights: may relay), then the sender's
# and the recipient's most specific record decide: user@domain before @domain before domain
# before .suffix. Refusals are logged in Postfix's NOQUEUE shape naming the rule. After a new
# build, SIGHUP makes the daemon use it. A bad line is "FILE:LINE: why" (exit 65) and the old
# map stays.
. "$SCN/lib.sh"

cat >"$T/policy.src" <<'P'
# client: may relay, no verdict
127.0.0.0/8          full_rights
spammer@bad.test     reject "go away, spammer"
@bad.test            tempfail "bad.test is on probation"
.bad.test            reject "no subdomains of bad.test"
bad.test             accept
blocked@local.test   reject
P
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.local_domains '[ "local.test" ]'
conf_set smtpd.max_error_recipients 100
conf_set smtpd.policydb "[ \"$T/policy.src\" ]"
sluice_conf
"$SLUICE" policy-build -c "$CONF" >"$T/build.out" 2>&1 || fail "policy-build: $(cat "$T/build.out")"
grep -q "^ok: 1 files -> $T/spool/policy.lmdb" "$T/build.out" || fail "build output: $(cat "$T/build.out")"
sluice_start

talk() { # talk FROM RCPT: one transaction, prints the RCPT reply
    printf 'EHLO client.test\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" "$2" >"$T/in"
    smtp_talk "$T/in" | tail -2 | head -1
}
expect_eq "$(talk spammer@bad.test u@local.test)" \
    "554 5.7.1 <spammer@bad.test>: Sender address rejected: go away, spammer" "user@domain key"
expect_eq "$(talk other@bad.test u@local.test)" \
    "450 4.7.1 <other@bad.test>: Sender address rejected: bad.test is on probation" "@domain key"
expect_eq "$(talk a@x.bad.test u@local.test)" \
    "554 5.7.1 <a@x.bad.test>: Sender address rejected: no subdomains of bad.test" ".domain key"
expect_eq "$(talk a@good.test blocked@local.test)" \
    "554 5.7.1 <blocked@local.test>: Recipient address rejected: Access denied" "recipient key"
expect_eq "$(talk a@good.test u@elsewhere.test)" "250 2.1.5 Ok" "full_rights relays"
log_has 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 <spammer@bad\.test>: Sender address rejected: go away, spammer; from=<spammer@bad\.test> to=<u@local\.test> proto=ESMTP helo=<client\.test> rule=<policydb spammer@bad\.test reject>' ||
    fail "no NOQUEUE line naming the rule: $(grep NOQUEUE "$SLUICE_LOG" | head -3)"

note "a bad line: FILE:LINE, exit 65, the map stays"
printf '127.0.0.0/8 full_rights\nfriend@bad.test acept\n' >"$T/policy.src"
rc=0
"$SLUICE" policy-build -c "$CONF" >"$T/build.out" 2>&1 || rc=$?
expect_eq "$rc" 65 "policy-build exit status on a bad line"
grep -q "^$T/policy.src:2: missing or unknown attribute" "$T/build.out" || fail "error: $(cat "$T/build.out")"

note "a new build, then SIGHUP"
printf '127.0.0.0/8 full_rights\nspammer@bad.test accept\n' >"$T/policy.src"
"$SLUICE" policy-build -c "$CONF" >"$T/build.out" 2>&1 || fail "policy-build: $(cat "$T/build.out")"
expect_eq "$(talk spammer@bad.test u@local.test)" \
    "554 5.7.1 <spammer@bad.test>: Sender address rejected: go away, spammer" "old map until SIGHUP"
kill -HUP "$SLUICE_PID"
wait_until 'log_has "policy: map .* reloaded"' 10 "the map reloaded"
expect_eq "$(talk spammer@bad.test u@local.test)" "250 2.1.5 Ok" "new map after SIGHUP"
sluice_stop
