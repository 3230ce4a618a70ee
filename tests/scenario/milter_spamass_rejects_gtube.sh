# smtpd.milters with a real content filter: Debian's spamass-milter in front of SpamAssassin's
# spamd (both inside the test's network namespace; spamd's port is waited for) refuses a
# GTUBE message at the end of DATA with its own reply (550 5.7.1 Blocked by SpamAssassin),
# logged as a milter-reject; a clean message from the same session is delivered, with the
# X-Spam-Checker-Version header spamass-milter adds (its end-of-message changes applied).
. "$SCN/lib.sh"

zone_mx dest "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M" # the daemon runs as sluice
at_exit "rm -rf '$M'"
bg_start spamd spamd --listen=127.0.0.1:783 -u nobody --nouser-config -x -s stderr \
    --max-children=1 --pidfile="$M/spamd.pid"
wait_until "port_open 127.0.0.1 783" 90 "spamd on 127.0.0.1:783"
bg_start spamass sh -c "umask 0; exec spamass-milter -p '$M/spamass.sock' -r 5 -- -d 127.0.0.1"
wait_until "[ -S '$M/spamass.sock' ]" 20 "spamass-milter socket"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "dest.example" ]'
conf_set smtpd.milters "[ \"unix:$M/spamass.sock\" ]"
conf_set milter_content_timeout '"60s"'
sluice_start

gtube='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
{
    printf 'EHLO c.example\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    printf 'From: a@src.test\r\nTo: u@dest.example\r\nSubject: gtube\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <gtube@src.test>\r\n\r\n%s\r\n.\r\n' "$gtube"
    printf 'MAIL FROM:<a@src.test>\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    printf 'From: a@src.test\r\nTo: u@dest.example\r\nSubject: clean\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <clean@src.test>\r\n\r\nHello, this is a normal note about the meeting tomorrow.\r\n.\r\nQUIT\r\n'
} >"$T/in"
SMTP_TALK_TIMEOUT=90 smtp_talk "$T/in" >"$T/replies" # spamd's first scan can take long on a loaded box
expect_reply '^550 5.7.1 Blocked by SpamAssassin$' "GTUBE refused at the end of DATA"
expect_reply '^250 2.0.0 Ok: queued as' "the clean message accepted"
log_has ': milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 Blocked by SpamAssassin; from=<a@src\.test>' ||
    fail "no milter-reject line: $(grep milter "$SLUICE_LOG")"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "clean message at the MX"
expect_eq "$(sink_msgs mx)" 1 "only the clean message reached the MX"
f=$(grep -l '^Subject: clean' "$T/sinks/mx"/t.*) || fail "clean message not at the MX"
grep -q '^X-Spam-Checker-Version: SpamAssassin' "$f" || fail "spamass-milter's header missing: $(head -20 "$f")"
sluice_alive || fail "sluice died"
