# sendmail compatibility: the binary called `sendmail` takes -t (recipients from To/Cc/Bcc,
# Bcc removed), -i/-oi (a lone dot does not end the message), -f, -F (full name in the added
# From), -r, -N/-R/-V (DSN); the message is delivered without the SMTP listener being needed.
. "$SCN/lib.sh"

zone_mx sm "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
ln -s "$SLUICE" "$T/sendmail"
printf 'To: u1@sm.example\nCc: "Two" <u2@sm.example>\nBcc: u3@sm.example\nSubject: dash t\n\nline\n.\nafter dot\n' |
    SLUICE_CONF="$CONF" "$T/sendmail" -t -oi -f author@src.example -F 'Ann "A" Author' -N success,failure -R hdrs -V env1 >"$T/sm.out" 2>&1 ||
    fail "sendmail -t: $(cat "$T/sm.out")"
printf 'Subject: dash r\n\nbody\n.\nnot delivered\n' |
    SLUICE_CONF="$CONF" "$T/sendmail" -r other@src.example u4@sm.example >"$T/sm.out" 2>&1 || fail "sendmail -r: $(cat "$T/sm.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 4 ]' 30 "4 recipients at the MX"
f=$(grep -l '^Subject: dash t' "$T/sinks/mx"/t.*)
grep -q '^after dot' "$f" || fail "-oi: the message ended at the lone dot"
grep -qi '^Bcc:' "$f" && fail "Bcc header not removed"
grep -q '^From: "Ann \\"A\\" Author" <author@src.example>' "$f" || fail "-F: $(grep '^From' "$f")"
f=$(grep -l '^Subject: dash r' "$T/sinks/mx"/t.*)
grep -q 'not delivered' "$f" && fail "without -i the lone dot must end the message"
true
