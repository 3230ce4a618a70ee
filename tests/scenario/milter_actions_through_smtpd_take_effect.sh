# smtpd.milters (docs/milter.md) with python3-milter peers (Sendmail's libmilter) through
# smtpd, for every action: two milters in order, the first one's end-of-message changes
# (header added, inserted at the top, changed; body replaced; a recipient added and one
# deleted; the sender changed) reach the MX and the second milter already sees them;
# Postfix's macros at each step; a RCPT reject with the milter's own reply text refuses that
# recipient only; a MAIL tempfail gives 451 4.7.1; a reject at end of message with its own
# text; discard (250, never queued); quarantine (stored held: mailq QID!, logged
# milter-hold); a connect reject answers MAIL with 550 5.7.1. Then milter_default_action
# with the milter down: tempfail -> 451 4.7.1, accept -> delivered, reject -> 550 5.7.1; a
# milter that never answers gives the default action after milter_connect_timeout, and two
# sessions wait for it at the same time (the loop is not blocked).
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M" # the daemon runs as sluice
at_exit "rm -rf '$M'"
milter() { # NAME SCRIPT: a scripted peer on $M/NAME.sock, logging to $T/NAME.jsonl
    MILTER_PEER_LOG="$T/$1.jsonl" bg_start "milter-$1" sh -c \
        "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/$1.sock' '$2'"
    wait_until "[ -S '$M/$1.sock' ]" 10 "milter $1"
}
milter edit 'eom=bysubject'
milter second 'mail=tempfail,rcpt=reject:550:5.7.1:not this one,eom=bysubject'
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "one.example" ]'
conf_set smtpd.milters "[ \"unix:$M/edit.sock\", \"unix:$M/second.sock\" ]"
sluice_start

note "edits of the first milter reach the MX; the second milter sees them"
printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<keep@one.example>\r\nRCPT TO:<del@one.example>\r\nDATA\r\nSubject: edit\r\nFrom: a@src.test\r\n\r\nold body\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2.0.0 Ok: queued as' "edited message accepted"
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 20 "edited message at the MX"
expect_eq "$(peer_rcpt_list mx | sort | tr '\n' ' ')" "added@one.example keep@one.example " "recipients at the MX"
python3 - "$T/peers/mx.jsonl" "$T/second.jsonl" <<'PY' || fail "edits or macros"
import json, sys
msg = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["type"] == "msg"][0]
assert msg["mail"] == "new-from@src.test", msg["mail"]
assert msg["subject"] == "changed by milter", msg["subject"]
seen = json.loads(open(sys.argv[2]).readline())
names = [n for n, v in seen["headers"]]
assert names[0] == "X-First" and names[-1] == "X-Milter", names
assert "Received" in names, names
assert seen["body"] == "new body\r\nfrom the milter\r\n", repr(seen["body"])
m = seen["seen"]
c = m["connect"]
for k, v in {"j": "sluice.example", "{daemon_name}": "sluice.example", "{client_addr}": "127.0.0.1",
             "{client_name}": "unknown", "{client_ptr}": "unknown", "_": "unknown [127.0.0.1]",
             "{if_addr}": "127.0.0.1", "{client_connections}": "1"}.items():
    assert c.get(k) == v, (k, c.get(k))
assert c["{client_port}"].isdigit() and c["{daemon_port}"].isdigit(), c
assert m["mail"]["{mail_addr}"] == "a@src.test" and m["mail"]["{mail_host}"] == "src.test", m["mail"]
assert m["mail"]["{mail_mailer}"] == "smtp", m["mail"]
r = m["rcpt"]
assert r["{rcpt_addr}"] == "del@one.example" and r["{rcpt_host}"] == "one.example", r
assert len(m["eom"]["i"]) == 16, m["eom"]
assert m["helo_name"] == "client.test" and m["from"] == "<a@src.test>", m
PY

note "RCPT reject with the milter's text, MAIL tempfail"
printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<no@one.example>\r\nRCPT TO:<yes@one.example>\r\nRSET\r\nMAIL FROM:<no@src.test>\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^550 5.7.1 not this one$' "RCPT reject text"
expect_reply '^250 2.1.5 Ok$' "the other recipient"
expect_reply '^451 4.7.1 Service unavailable - try again later$' "MAIL tempfail"
log_has 'NOQUEUE: milter-reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 not this one; from=<a@src\.test> proto=ESMTP helo=<client\.test> milter=<unix:' ||
    fail "milter-reject log line: $(grep milter "$SLUICE_LOG")"

send_subject() { # SUBJECT: one message to ok@one.example; the replies in $T/replies
    printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<ok@one.example>\r\nDATA\r\nSubject: %s\r\n\r\nbody\r\n.\r\nQUIT\r\n' "$1" >"$T/in"
    smtp_talk "$T/in" >"$T/replies"
}
note "reject at end of message with the milter's text"
send_subject 'reject:554:5.7.1:content refused here'
expect_reply '^554 5.7.1 content refused here$' "end-of-message reject"
log_has ': milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 content refused here' ||
    fail "no end-of-message reject line"

note "discard: 250, never queued"
send_subject discard
expect_reply '^250 2.0.0 Ok: queued as' "discard acknowledged"
log_has ': milter-discard: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: milter triggers DISCARD action' ||
    fail "no discard line"

note "quarantine: stored held"
send_subject quarantine
expect_reply '^250 2.0.0 Ok: queued as' "quarantined message acknowledged"
Q=$(sed -n 's/^250 2.0.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/replies")
log_has "$Q: milter-hold: END-OF-MESSAGE from unknown\\[127\\.0\\.0\\.1\\]: held by the test milter" ||
    fail "no milter-hold line"
"$SLUICE" mailq -c "$CONF" >"$T/mailq.out" 2>&1 || fail "mailq: $(cat "$T/mailq.out")"
grep -q "^$Q!" "$T/mailq.out" || fail "mailq does not show $Q!: $(cat "$T/mailq.out")"
expect_eq "$(mailq_count)" 1 "only the held message is queued (the discarded one is not)"
expect_eq "$(peer_stat mx messages)" 1 "messages at the MX: only the edited one"
sluice_alive || fail "sluice died"
sluice_stop

note "connect reject: MAIL gets 550 5.7.1"
milter conn 'connect=reject'
conf_set smtpd.milters "[ \"unix:$M/conn.sock\" ]"
sluice_conf
sluice_start
printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^550 5.7.1 Command rejected$' "connect reject"
sluice_stop

note "milter_default_action with the milter down"
for a in tempfail:451 accept:250 reject:550; do
    conf_set smtpd.milters "[ \"unix:$M/absent.sock\", \"inet:127.0.0.1:9\" ]"
    conf_set smtpd.milter_default_action "\"${a%%:*}\""
    sluice_conf
    sluice_start
    printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<down@one.example>\r\nDATA\r\nSubject: down\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
    smtp_talk "$T/in" >"$T/replies"
    case ${a#*:} in
    451) expect_reply '^451 4.7.1 Service unavailable - try again later$' "default tempfail" ;;
    550) expect_reply '^550 5.7.1 Command rejected$' "default reject" ;;
    250)
        expect_reply '^250 2.0.0 Ok: queued as' "default accept"
        wait_until '[ "$(peer_stat mx messages)" -ge 2 ]' 20 "default accept delivered"
        ;;
    esac
    log_has "milter unix:$M/absent.sock: .*: default action ${a%%:*}" ||
        fail "no failure line for ${a%%:*}: $(grep milter "$SLUICE_LOG" | tail -3)"
    sluice_stop
done
expect_eq "$(peer_rcpt_list mx | grep -c down@one.example)" 1 "the accepted message reached the MX"

note "a milter that never answers: milter_connect_timeout, then the default action; two sessions wait at once"
milter silent silent
conf_set smtpd.milters "[ \"unix:$M/silent.sock\" ]"
conf_set smtpd.milter_default_action '"tempfail"'
conf_set milter_connect_timeout '"2s"'
sluice_conf
sluice_start
printf 'EHLO client.test\r\nMAIL FROM:<a@src.test>\r\nQUIT\r\n' >"$T/in"
t0=$(date +%s%N)
smtp_talk "$T/in" >"$T/replies.1" &
other=$!
smtp_talk "$T/in" >"$T/replies.2"
wait "$other"
ms=$((($(date +%s%N) - t0) / 1000000))
for i in 1 2; do
    grep -q '^451 4.7.1 Service unavailable - try again later$' "$T/replies.$i" ||
        fail "session $i: $(tr '\n' '|' <"$T/replies.$i")"
done
expect_le "$ms" 3900 "both sessions waited for the 2 s timeout at the same time (ms)"
log_has "milter unix:$M/silent.sock: connect or option negotiation timed out: default action tempfail" ||
    fail "no timeout line"
sluice_alive || fail "sluice died"
