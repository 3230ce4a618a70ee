# LMTP (RFC 2033) to Dovecot's real LMTP server over a UNIX socket: the transport map sends
# lmtp.example to "lmtp:unix:DIR/lmtp". One message to alice (a Dovecot user) and to nobody
# (unknown to Dovecot): Dovecot's per-recipient 550 bounces nobody only (the bounce reaches
# the sender's MX), alice's copy is in her Maildir (doveadm fetch finds subject and body;
# Python's mailbox reads it intact), and the log names the socket as relay.
. "$SCN/lib.sh"

zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
dovecot_lmtp_start dl alice
D=$(dovecot_dir dl)
conf_set transport "( { domains = [ \"lmtp.example\" ]; nexthop = \"lmtp:unix:$D/lmtp\"; } )"
sluice_conf
sluice_start

python3 - <<PY || fail "SMTP injection"
import smtplib
msg = (b"From: sender@src.example\r\nTo: alice@lmtp.example\r\nSubject: lmtp check 1\r\n\r\n"
       b"first line\r\n.\r\ncaf\xc3\xa9 last\r\n")
with smtplib.SMTP("127.0.0.1", $SMTP_PORT) as s:
    refused = s.sendmail("sender@src.example", ["alice@lmtp.example", "nobody@lmtp.example"], msg,
                         mail_options=["BODY=8BITMIME"])
    assert not refused, refused
PY
wait_until '[ "$(sink_msgs bounces)" -ge 1 ] && log_has "to=<alice@lmtp\.example>.*status=sent"' 30 \
    "alice delivered and a bounce for nobody at the sender's MX"
wait_until queue_empty 20 "empty queue"
log_has "to=<alice@lmtp\.example>.*relay=[^ ]*\[$D/lmtp\].*status=sent" ||
    fail "no status=sent line naming the LMTP socket: $(grep 'alice@' "$SLUICE_LOG")"
log_has 'to=<nobody@lmtp\.example>.*status=bounced.*550' ||
    fail "no bounced line with Dovecot's 550 for nobody: $(grep 'nobody@' "$SLUICE_LOG")"
f=$(find "$T/sinks/bounces" -type f -name 't.*' | head -n 1)
grep -q 'nobody@lmtp.example' "$f" || fail "the bounce does not name nobody@lmtp.example"
out=$(dovecot_fetch dl alice) || fail "doveadm fetch: $out"
echo "$out" | grep -q '^hdr.subject: lmtp check 1' || fail "doveadm fetch: no subject: $out"
echo "$out" | grep -q '^first line' || fail "doveadm fetch: no body: $out"
expect_eq "$(echo "$out" | grep -c '^hdr.subject:')" 1 "messages in alice's mailbox"
python3 - "$D/mail/alice" <<'PY' || fail "python mailbox could not read alice's Maildir"
import mailbox, sys
msgs = list(mailbox.Maildir(sys.argv[1], factory=None, create=False))
assert len(msgs) == 1, len(msgs)
body = msgs[0].get_payload(decode=True)
assert body == b"first line\n.\ncaf\xc3\xa9 last\n", body
PY
[ ! -e "$D/mail/nobody" ] || fail "a mailbox was made for nobody"
