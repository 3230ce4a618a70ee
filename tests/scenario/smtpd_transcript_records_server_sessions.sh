# smtpd.transcript (seed 000 §4.4.7): every server session's commands and replies are
# recorded with timestamps, the content only as "(N body bytes)"; with `peers` only the
# listed clients are recorded.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
sink_start mx 127.0.0.20
conf_set smtpd.transcript '{ path = "%DIRLOG%transcripts/smtpd-%DT%.log"; peers = [ "127.0.0.1/32" ]; }'
sluice_start
inject_swaks sender@src.example u1@d.example --header "Subject: secret-subject"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "delivery"
sluice_stop
spool=$(sed -n 's/^spool *= *"\(.*\)";/\1/p' "$T/sluice.conf")
tr=$(find "$spool/log/transcripts" -type f -name 'smtpd-*.log')
[ -n "$tr" ] || fail "no server transcript under $spool/log/transcripts"
grep -q ' S[0-9]* \* connect' $tr || fail "no connect note"
grep -q ' S[0-9]* > 220 ' $tr || fail "no greeting"
grep -q ' S[0-9]* < EHLO inject.example' $tr || fail "no EHLO"
grep -q ' S[0-9]* < MAIL FROM:<sender@src.example>' $tr || fail "no MAIL FROM"
grep -q ' S[0-9]* > 250 2.0.0 Ok: queued as ' $tr || fail "no final 250"
grep -q 'body bytes' $tr || fail "no body note"
grep -q 'secret-subject' $tr && fail "transcript holds message text"
grep -q ' S[0-9]* \* close' $tr || fail "no close note"
exit 0
