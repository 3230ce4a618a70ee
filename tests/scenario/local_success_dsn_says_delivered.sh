# RFC 3464 for local delivery: RCPT TO:<USER@local.example> NOTIFY=SUCCESS delivered to the
# user's Maildir gives the sender a success report whose recipient block says
# "Action: delivered" (the mail reached its mailbox; "relayed" is for a hop without DSN),
# Status 2.0.0; the report reaches the sender's MX (a sink) and Python's email package
# parses it as a multipart/report. An alias that expands to a remote address says
# "Action: expanded".
. "$SCN/lib.sh"

U=sluiceds$$
chmod 755 "$T"
mkdir -p "$T/home"
chmod 755 "$T/home"
useradd -M -d "$T/home/$U" -s /bin/sh "$U" || fail "useradd $U"
at_exit "userdel '$U'"
mkdir -p "$T/home/$U" && chown "$U" "$T/home/$U" && chmod 700 "$T/home/$U"
printf 'list: someone@far.example\n' >"$T/aliases"

zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
zone_mx far "10 far"
zone_a far 127.0.0.40
dns_start
sink_start bounces 127.0.0.30
sink_start far 127.0.0.40
conf_set smtpd.local_domains '[ "local.example" ]'
conf_set aliases "[ \"$T/aliases\" ]"
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/newaliases.out" 2>&1 || fail "newaliases: $(cat "$T/newaliases.out")"
sluice_start

python3 - "$U@local.example" <<'PY' || fail "injection with NOTIFY=SUCCESS refused"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
for rcpt in (sys.argv[1], "list@local.example"):
    s.mail("sender@src.example")
    code, text = s.rcpt(rcpt, ["NOTIFY=SUCCESS", "ORCPT=rfc822;" + rcpt])
    assert code == 250, (code, text)
    code, text = s.data(b"Subject: s\r\nMessage-ID: <s@src.example>\r\n\r\nbody\r\n")
    assert code == 250, (code, text)
s.quit()
PY
wait_until '[ "$(sink_msgs bounces)" -ge 2 ]' 30 "two success notices"
wait_until '[ "$(ls "$T/home/$U/Maildir/new" 2>/dev/null | wc -l)" -ge 1 ]' 10 "the message in the Maildir"
wait_until '[ "$(sink_msgs far)" -ge 1 ]' 30 "the expansion at far.example"
fd=$(grep -l "Final-Recipient: rfc822; $U@local.example" "$T/sinks/bounces"/t.* | head -n 1)
[ -n "$fd" ] || fail "no report about $U@local.example"
python3 "$SCN/dsn_check.py" "$fd" delivered "$U@local.example" 'Status=^2\.0\.0$' \
    "Original-Recipient=^rfc822; $U@local\\.example\$" || fail "not a delivered report: $(cat "$fd")"
fe=$(grep -l "Final-Recipient: rfc822; list@local.example" "$T/sinks/bounces"/t.* | head -n 1)
[ -n "$fe" ] || fail "no report about list@local.example"
python3 "$SCN/dsn_check.py" "$fe" expanded "list@local.example" 'Status=^2\.0\.0$' ||
    fail "not an expanded report: $(cat "$fe")"
grep -qi 'Action: relayed' "$fd" "$fe" && fail "a local delivery reported as relayed"
wait_until queue_empty 20 "empty queue"
