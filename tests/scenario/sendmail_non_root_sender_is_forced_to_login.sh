# A user who is not trusted cannot choose the envelope sender: `sendmail -f boss@corp.example`
# as sluicetest is delivered from sluicetest@hostname and the daemon logs "sender changed";
# once sluicetest is in trusted_users its -f is kept.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

zone_mx rcpt "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
maildrop_bin
sluice_start
as_user "printf 'Subject: forged\n\nx\n' | SLUICE_CONF=$CONF $T/bin/sendmail -f boss@corp.example u1@rcpt.example" \
    >"$T/sm.out" 2>&1 || fail "sendmail as sluicetest: $(cat "$T/sm.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the first message at the MX"
grep -q '^X-Mail-Args: <sluicetest@sluice.example>' "$T/sinks/mx"/t.* || fail "sender not forced: $(grep -h X-Mail-Args "$T/sinks/mx"/t.*)"
log_has 'sender changed from <boss@corp.example> to <sluicetest@sluice.example> \(uid [0-9]+ is not trusted\)' ||
    fail "no sender changed log line"
sluice_stop
conf_set trusted_users '[ "sluicetest" ]'
sluice_conf
chmod 644 "$CONF"
sluice_start
as_user "printf 'Subject: trusted\n\nx\n' | SLUICE_CONF=$CONF $T/bin/sendmail -f boss@corp.example u2@rcpt.example" \
    >"$T/sm.out" 2>&1 || fail "sendmail as trusted sluicetest: $(cat "$T/sm.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "the second message at the MX"
f=$(grep -l '^Subject: trusted' "$T/sinks/mx"/t.*)
grep -q '^X-Mail-Args: <boss@corp.example>' "$f" || fail "trusted -f not kept: $(grep X-Mail-Args "$f")"
