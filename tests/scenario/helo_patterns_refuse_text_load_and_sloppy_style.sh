# The HELO/EHLO pattern table (smtpd.helo_patterns, docs/policy.md), first matching row:
# "!TEXT" refuses the greeting with 550 and the text (logged NOQUEUE: reject: EHLO ...);
# a row whose maximum load average is below the current one gets 421 and the connection
# closes; a row without R lets the client omit <> in MAIL/RCPT; "R" keeps the strict syntax.
. "$SCN/lib.sh"

conf_set smtpd.helo_patterns '[ "bad.test 999 !NO EMAIL ACCEPTED FROM YOUR MACHINE", "busy.test 0 R", "\\[*\\] 999 -", "* 999 R" ]'
sluice_start

talk() { # talk HELO MAIL-LINE: every reply, one per line
    printf 'EHLO %s\r\n%s\r\nQUIT\r\n' "$1" "$2" >"$T/in"
    smtp_talk "$T/in"
}
talk bad.test 'MAIL FROM:<a@b.test>' >"$T/replies"
expect_reply '^550 5\.7\.1 <bad\.test>: Helo command rejected: NO EMAIL ACCEPTED FROM YOUR MACHINE$' "!TEXT row"
expect_reply '^503 5\.5\.1 Error: send HELO/EHLO first$' "MAIL after a refused EHLO"
log_has 'NOQUEUE: reject: EHLO from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 <bad\.test>: Helo command rejected: NO EMAIL ACCEPTED FROM YOUR MACHINE; proto=ESMTP helo=<bad\.test> rule=<helo_patterns bad\.test>' ||
    fail "no NOQUEUE EHLO line: $(grep NOQUEUE "$SLUICE_LOG")"
talk '[127.0.0.1]' 'MAIL FROM: a@b.test' >"$T/replies"
expect_reply '^250 2\.1\.0 Ok$' "a row without R: sloppy MAIL"
talk good.test 'MAIL FROM: a@b.test' >"$T/replies"
expect_reply '^501 5\.5\.4 Syntax: MAIL FROM:<address>' "an R row: strict MAIL"
if awk '{ exit !($1 > 0) }' /proc/loadavg; then
    talk busy.test 'MAIL FROM:<a@b.test>' >"$T/replies"
    expect_reply '^421 4\.3\.2 Service temporarily unavailable: load average [0-9.]* over 0, try again later$' \
        "load average over the row's maximum"
    grep -q '^250 2\.1\.0' "$T/replies" && fail "the session went on after 421"
else
    note "load average is 0.00: the 421 case cannot be shown now"
fi
sluice_stop
