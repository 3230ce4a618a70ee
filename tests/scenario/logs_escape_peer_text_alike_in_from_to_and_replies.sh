# One sanitizer for every peer-supplied string in logs (core/log.h log_sanitize): the same
# bytes look the same in every field and every log. Printable ASCII stays, '\' becomes \\,
# any other byte (non-ASCII UTF-8, control) \xHH. Here a UTF-8 sender (SMTPUTF8), a UTF-8
# recipient that is delivered and an ASCII one refused with a reply holding UTF-8 and a
# backslash: the daemon log (from=, to=, the reply), the audit record and the server
# transcript all show \xc3\xb6 for the sender's "ö", and no raw non-ASCII byte reaches any
# of them. (Before, from= showed "j??rg" and to= the raw UTF-8.)
. "$SCN/lib.sh"

zone_mx esc "10 mx"
zone_a mx 127.0.0.3
dns_start
peer_start mx 127.0.0.3 --ehlo-keyword SMTPUTF8 --reject-rcpt '^bad@=550 5.1.1 Jörg\ is gone'
conf_set deliver.audit '"%DIRLOG%audit-%DT%.log"'
conf_set smtpd.transcript '"%DIRLOG%smtpd-%DT%.log"'
sluice_start

printf 'EHLO c.example\r\nMAIL FROM:<j\xc3\xb6rg@src.example> SMTPUTF8\r\nRCPT TO:<\xc3\xa4nne@esc.example>\r\nRCPT TO:<bad@esc.example>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2\.0\.0 Ok: queued' "message accepted"

# What each log must hold, as fixed strings (single quotes: \x is a backslash and an x).
from='from=<j\xc3\xb6rg@src.example>'
to_sent='to=<\xc3\xa4nne@esc.example>, relay=mx.example[127.0.0.3]:25'
reply='to=<bad@esc.example>, relay=mx.example[127.0.0.3]:25'
reply_text='status=bounced (550 5.1.1 J\xc3\xb6rg\\ is gone)'
has() { LC_ALL=C grep -aqF -- "$1" "$2"; }
wait_until 'has "$to_sent" "$SLUICE_LOG"' 30 "to= of the UTF-8 recipient, escaped"
wait_until 'has "$reply" "$SLUICE_LOG"' 30 "to= of the refused recipient"
has "$from, size=" "$SLUICE_LOG" || fail "from= not escaped alike: $(grep -a ' from=' "$SLUICE_LOG" | head -1)"
grep -aF -- "$reply" "$SLUICE_LOG" | grep -qF -- "$reply_text" ||
    fail "reply text not escaped alike: $(grep -a 'to=<bad@' "$SLUICE_LOG" | head -1)"

spool=$(sed -n 's/^spool *= *"\(.*\)";/\1/p' "$T/sluice.conf")
wait_until "[ -n \"\$(find '$spool/log' -name 'audit-*.log' -size +0)\" ]" 20 "the audit record"
audit=$(find "$spool/log" -name 'audit-*.log')
audit_rec=" $from to=<\xc3\xa4nne@esc.example> received_from=127.0.0.1 "
wait_until 'has "$audit_rec" "$audit"' 10 "the audit record, escaped alike"
tr=$(find "$spool/log" -name 'smtpd-*.log')
tr_line=' < MAIL FROM:<j\xc3\xb6rg@src.example> SMTPUTF8'
wait_until 'has "$tr_line" "$tr"' 10 "the transcript's MAIL line, escaped alike"

for f in "$SLUICE_LOG" "$audit" "$tr"; do
    if LC_ALL=C grep -aq '[^ -~[:space:]]' "$f"; then
        fail "raw non-ASCII or control bytes in $f: $(LC_ALL=C grep -an '[^ -~[:space:]]' "$f" | head -2)"
    fi
done
