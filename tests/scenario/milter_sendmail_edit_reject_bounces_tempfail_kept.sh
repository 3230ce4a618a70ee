# non_smtpd_milters (docs/milter.md): every sendmail submission (root's too: with milters set
# it goes through the maildrop) passes the milters at the daemon's pickup, with a connect
# from localhost [127.0.0.1], HELO localhost, MAIL, RCPT and the content, like Postfix's
# non-SMTP mail (the queue id i the same at MAIL, RCPT and end of message). A python3-milter peer's changes (Subject, body, sender, a recipient added)
# are in the delivered message; a reject bounces the message to its sender (the DSN carries
# the milter's reply) as Postfix does; a tempfail keeps the drop file for the next scan;
# discard removes it (nothing delivered); quarantine stores it held. A non-root user's
# submission passes them too.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

zone_mx dest "10 mx"
zone_mx src "10 mx"
zone_mx one "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M"
at_exit "rm -rf '$M'"
MILTER_PEER_LOG="$T/peer.jsonl" bg_start milter sh -c \
    "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/p.sock' eom=bysubject"
wait_until "[ -S '$M/p.sock' ]" 10 "milter peer"
conf_set trusted_users '[ "sluicetest" ]'
conf_set non_smtpd_milters "[ \"unix:$M/p.sock\" ]"
maildrop_bin
sluice_start

send() { # SUBJECT: root's sendmail -f a@src.example to u@dest.example
    printf 'From: a@src.example\nTo: u@dest.example\nSubject: %s\n\nbody of %s\n' "$1" "$1" |
        SLUICE_CONF=$CONF "$T/bin/sendmail" -f a@src.example -i u@dest.example >"$T/sm.out" 2>&1 ||
        fail "sendmail $1: $(cat "$T/sm.out")"
}
drops() { find "$T/spool/maildrop" -maxdepth 1 -type f ! -name '.*' | wc -l; }

note "edit: the milter's changes are delivered"
send edit
wait_until 'grep -lqs "^Subject: changed by milter" "$T/sinks/mx"/t.*' 30 "edited message at the MX"
f=$(grep -l '^Subject: changed by milter' "$T/sinks/mx"/t.* | head -1)
grep -q '^from the milter' "$f" || fail "body not replaced"
grep -q '^X-Mail-Args: <new-from@src.test>' "$f" || grep -qi 'new-from@src.test' "$f" || fail "sender not changed: $(head -5 "$f")"
python3 - "$T/peer.jsonl" <<'PY' || fail "pickup's connect, HELO, MAIL, RCPT"
import json, sys
s = json.loads(open(sys.argv[1]).readline())["seen"]
assert s["host"] == "localhost" and s["helo_name"] == "localhost", s
assert s["from"] == "<a@src.example>" and s["rcpts"] == ["<u@dest.example>"], s
assert s["connect"]["{client_addr}"] == "127.0.0.1" and s["connect"]["j"] == "sluice.example", s
assert len(s["eom"]["i"]) == 16, s["eom"]
assert s["mail"]["i"] == s["rcpt"]["i"] == s["eom"]["i"], (s["mail"], s["rcpt"], s["eom"])
PY

note "reject: bounced to the sender with the milter's reply"
send 'reject:554:5.7.1:no local spam'
wait_until 'log_has "milter-reject: .*: 554 5\.7\.1 no local spam; from=<a@src\.example>"' 20 "pickup reject line"
wait_until 'grep -lqs "no local spam" "$T/sinks/mx"/t.*' 30 "the bounce at the sender's MX"
f=$(grep -l 'no local spam' "$T/sinks/mx"/t.* | head -1)
grep -q '^X-Rcpt-Args: <a@src.example>' "$f" || fail "the bounce does not go to the sender: $(head -8 "$f")"

note "tempfail: the drop file stays"
send tempfail
wait_until 'log_has "kept for the next scan \\(milter tempfail\\)"' 20 "tempfail kept line"
expect_eq "$(drops)" 1 "drop file kept"
rm -f "$T/spool/maildrop"/[!.]* # so the rescan does not deliver it later

note "discard: removed, nothing delivered"
n=$(sink_msgs mx)
send discard
wait_until 'log_has "milter-discard: .*milter triggers DISCARD action"' 20 "discard line"
wait_until '[ "$(drops)" = 0 ]' 10 "drop file removed"

note "quarantine: stored held"
send quarantine
wait_until 'log_has "milter-hold: .*held by the test milter"' 20 "hold line"
"$SLUICE" mailq -c "$CONF" >"$T/mailq.out" 2>&1
grep -q '^[0-9A-F]*!' "$T/mailq.out" || fail "no held message: $(cat "$T/mailq.out")"

note "a non-root user's submission passes the milters too"
printf 'From: sluicetest@src.example\nTo: u@dest.example\nSubject: edit\n\nuser body\n' >"$T/u.eml"
chmod 644 "$T/u.eml"
as_user "SLUICE_CONF=$CONF $T/bin/sendmail -f sluicetest@src.example -i u@dest.example <$T/u.eml" >"$T/sm.out" 2>&1 ||
    fail "sendmail as sluicetest: $(cat "$T/sm.out")"
wait_until '[ "$(grep -l "^Subject: changed by milter" "$T/sinks/mx"/t.* | wc -l)" -ge 2 ]' 30 "user's edited message"
expect_eq "$(sink_msgs mx)" "$((n + 1))" "discard delivered nothing (only the user's message came since)"
sluice_alive || fail "sluice died"
