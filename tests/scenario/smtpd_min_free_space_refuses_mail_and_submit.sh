# min_free_space (seed min-availspace): when the spool's filesystem has less free, MAIL gets
# 452 4.3.1 and `sluice submit` exits 75 (EX_TEMPFAIL) without storing anything.
. "$SCN/lib.sh"

conf_set smtpd.min_free_space 1125899906842624L
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^452 4\.3\.1 Insufficient system storage' "MAIL with the spool below min_free_space"
rc=0
printf 'Subject: x\n\nbody\n' | "$SLUICE" submit -c "$CONF" -f a@src.example u@dst.example >"$T/submit.out" 2>&1 || rc=$?
expect_eq "$rc" 75 "sluice submit exit status"
grep -q 'min_free_space' "$T/submit.out" || fail "no clear message: $(cat "$T/submit.out")"
expect_eq "$(mailq_count)" 0 "queued recipients"
