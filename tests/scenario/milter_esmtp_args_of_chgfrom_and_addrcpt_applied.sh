# A python3-milter peer (Sendmail's libmilter) changes the sender with ESMTP arguments
# (smfi_chgfrom "RET=HDRS ENVID=...") and adds a recipient with them (smfi_addrcpt_par
# "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;..."): the MX (a DSN peer) gets MAIL with the milter's
# RET and ENVID in place of the client's, the added recipient with its NOTIFY and ORCPT,
# and the client's recipient with its own NOTIFY. An argument that does not apply (XFOO on
# a change of sender, RET on an added recipient) refuses the message with 451 4.7.1 and
# a log line naming the milter and the argument; nothing is queued for it.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --ehlo-keyword DSN
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M" # the daemon runs as sluice
at_exit "rm -rf '$M'"
MILTER_PEER_LOG="$T/edit.jsonl" bg_start milter-edit sh -c \
    "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/edit.sock' 'eom=bysubject'"
wait_until "[ -S '$M/edit.sock' ]" 10 "milter"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "one.example" ]'
conf_set smtpd.milters "[ \"unix:$M/edit.sock\" ]"
sluice_start

send() { # SUBJECT: one message with DSN parameters; the replies in $T/replies
    printf 'EHLO client.test\r\nMAIL FROM:<a@src.test> RET=FULL ENVID=client-env\r\nRCPT TO:<keep@one.example> NOTIFY=FAILURE ORCPT=rfc822;keep@one.example\r\nDATA\r\nSubject: %s\r\nFrom: a@src.test\r\n\r\nbody\r\n.\r\nQUIT\r\n' "$1" >"$T/in"
    smtp_talk "$T/in" >"$T/replies"
}

note "change of sender with RET and ENVID, recipient added with NOTIFY and ORCPT"
send esmtp
expect_reply '^250 2.0.0 Ok: queued as' "message accepted"
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 20 "message at the MX"
python3 - "$T/peers/mx.jsonl" <<'PY' || fail "ESMTP arguments at the MX: $(grep '"msg"' "$T/peers/mx.jsonl")"
import json, sys
msg = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["type"] == "msg"][0]
assert msg["mail"] == "new-from@src.test", msg["mail"]
args = sorted(msg["mail_args"].split())
assert "RET=HDRS" in args and "ENVID=milter+2Benv" in args, args
assert not any(a.startswith("ENVID=client") or a == "RET=FULL" for a in args), args
rcpts = dict(zip(msg["rcpts"], msg["rcpt_args"]))
assert sorted(rcpts) == ["keep@one.example", "par@one.example"], rcpts
par = rcpts["par@one.example"].split()
assert "NOTIFY=SUCCESS,DELAY" in par and "ORCPT=rfc822;orig+2Bpar@one.example" in par, par
keep = rcpts["keep@one.example"].split()
assert "NOTIFY=FAILURE" in keep and "ORCPT=rfc822;keep@one.example" in keep, keep
PY

note "an unknown argument of a change of sender: 451 4.7.1, logged"
send badfromarg
expect_reply '^451 4\.7\.1 Service unavailable - try again later$' "bad chgfrom argument"
log_has "milter-reject: END-OF-MESSAGE from .*: 451 4\\.7\\.1 .*milter=<unix:$M/edit\\.sock> chgfrom refused: ESMTP argument XFOO is not applied here" ||
    fail "no log line for XFOO: $(grep milter "$SLUICE_LOG" | tail -3)"

note "a MAIL argument on an added recipient: 451 4.7.1, logged"
send badrcptarg
expect_reply '^451 4\.7\.1 Service unavailable - try again later$' "bad addrcpt_par argument"
log_has "milter=<unix:$M/edit\\.sock> addrcpt_par refused: ESMTP argument RET is not applied here" ||
    fail "no log line for RET: $(grep milter "$SLUICE_LOG" | tail -3)"
expect_eq "$(mailq_count)" 0 "nothing queued for the refused messages"
expect_eq "$(peer_stat mx messages)" 1 "messages at the MX: only the first"
sluice_alive || fail "sluice died"
