# mutt runs `sendmail -oem -oi -- RCPT...`: -oi keeps a lone dot in the body; -oem accepts
# the message even with a malformed recipient and reports that one by mail (a failure DSN
# to the sender through the normal bounce path) while the good recipient is delivered;
# -oep with the same input exits 65 and stores nothing. Other accepted options: -odi -odb
# -om -B 8BITMIME (the 8-bit body goes on with BODY=8BITMIME) -L tag (the prefix of
# sendmail's own messages) -G -U -O DeliveryMode=b.
. "$SCN/lib.sh"

zone_mx rcpt "10 mx"
zone_mx src "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
printf 'postmaster: root\nroot: u3@rcpt.example\n' >"$T/aliases"
conf_set aliases "[ \"$T/aliases\" ]"
sluice_start
ln -s "$SLUICE" "$T/sendmail"
printf 'To: u1@rcpt.example, bad@@rcpt.example\nSubject: mutt\n\ncaf\303\251\n.\nafter dot\n' |
    SLUICE_CONF="$CONF" "$T/sendmail" -oem -oi -odb -om -B 8BITMIME -L mutt -G -U -O DeliveryMode=b \
        -f me@src.example -t >"$T/sm.out" 2>&1 || fail "sendmail -oem: $(cat "$T/sm.out")"
grep -q '^mutt: bad recipient address: bad@@rcpt.example' "$T/sm.out" || fail "-L tag: $(cat "$T/sm.out")"
wait_until '[ "$(sink_msgs mx)" -ge 2 ]' 30 "the message and the bounce at the MX"
f=$(grep -l '^X-Rcpt-Args: <u1@rcpt.example>' "$T/sinks/mx"/t.*)
grep -q '^after dot' "$f" || fail "-oi: the lone dot ended the message"
grep -q 'BODY=8BITMIME' "$f" || fail "8-bit body not passed on as 8BITMIME: $(grep X-Mail-Args "$f")"
b=$(grep -l '^X-Rcpt-Args: <me@src.example>' "$T/sinks/mx"/t.*) || fail "no DSN to the sender"
grep -q 'bad@@rcpt.example' "$b" && grep -q '5\.1\.3' "$b" || fail "DSN does not report the bad recipient"
rc=0
printf 'To: u2@rcpt.example, bad@@rcpt.example\n\nx\n' |
    SLUICE_CONF="$CONF" "$T/sendmail" -oep -oi -t >"$T/sm.out" 2>&1 || rc=$?
expect_eq "$rc" 65 "-oep exit status"
rc=0
SLUICE_CONF="$CONF" "$T/sendmail" -bi </dev/null >"$T/sm.out" 2>&1 || rc=$?
expect_eq "$rc" 0 "-bi exit status (newaliases)"
grep -q "$T/aliases: 2 aliases" "$T/sm.out" || fail "-bi: $(cat "$T/sm.out")"
[ -s "$T/aliases.db" ] || fail "-bi wrote no $T/aliases.db"
