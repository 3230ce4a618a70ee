# DSN (RFC 3461: RET, ENVID, NOTIFY, ORCPT with xtext), 8BITMIME and SMTPUTF8 (RFC 6531: a
# UTF-8 sender is accepted with SMTPUTF8 and refused 553 5.6.7 without it) are accepted and
# the message is delivered; the Received header says UTF8SMTP. The MX is a recording peer
# that offers SMTPUTF8 and DSN (a UTF-8 sender is never sent to a hop without SMTPUTF8).
. "$SCN/lib.sh"

zone_mx dsn "10 mx"
zone_a mx 127.0.0.3
dns_start
peer_start mx 127.0.0.3 --ehlo-keyword SMTPUTF8 --ehlo-keyword DSN
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<j\xc3\xb6rg@src.example>\r\nMAIL FROM:<j\xc3\xb6rg@src.example> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=id+2B1\r\nRCPT TO:<u1@dsn.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u1+40dsn.example\r\nRCPT TO:<u2@dsn.example> NOTIFY=NEVER\r\nRCPT TO:<u3@dsn.example> NOTIFY=NEVER,DELAY\r\nDATA\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^553 5\.6\.7' "UTF-8 sender without SMTPUTF8"
expect_reply '^501 5\.5\.4 Bad NOTIFY' "NOTIFY=NEVER with another keyword"
expect_reply '^250 2\.0\.0 Ok: queued as' "message accepted"
expect_eq "$(grep -c '^250 2\.1\.5' "$T/replies")" 2 "recipients accepted"
wait_until '[ "$(peer_stat mx rcpts)" -ge 2 ]' 30 "2 recipients at the MX"
python3 - "$T/peers/mx.jsonl" <<'PY' || fail "not passed on as received: $(cat "$T/peers/mx.jsonl")"
import json, sys
msgs = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "msg"]
assert len(msgs) == 1, len(msgs)
m = msgs[0]
assert "with UTF8SMTP id" in m["headers"], "Received does not say UTF8SMTP"
assert m["mail_args"].split()[1:] == ["BODY=8BITMIME", "SMTPUTF8", "RET=HDRS", "ENVID=id+2B1"], m["mail_args"]
assert sorted(m["rcpt_args"]) == ["NOTIFY=NEVER", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u1@dsn.example"], m["rcpt_args"]
PY
