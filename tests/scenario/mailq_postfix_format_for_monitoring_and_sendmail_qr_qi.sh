# `mailq`, `sendmail -bp` and `sluice mailq` print Postfix's queue listing, which the
# tools written for Postfix read: Nagios check_mailq's summary pattern, per-message lines
# with the active mark '*', the deferral reason in parentheses, `--json` as `postqueue -j`
# (parsed as JSON, Postfix's field names). `sendmail -qR DOMAIN` delivers only that
# domain's waiting mail, `sendmail -qI QID` only that message, and an empty queue says
# "Mail queue is empty".
. "$SCN/lib.sh"

zone_mx later "10 mx1"
zone_a mx1 127.0.0.42
zone_mx other "10 mx2"
zone_a mx2 127.0.0.43
dns_start
conf_set deliver.interval '"1h"'
sluice_start
ln -s "$SLUICE" "$T/mailq"
ln -s "$SLUICE" "$T/sendmail"
inject_swaks sender@src.example u1@later.example
inject_swaks sender@src.example u2@later.example
inject_swaks '<>' u3@other.example
wait_until '[ "$(mailq_count deferred)" -eq 3 ]' 30 "3 deferred recipients (no MX yet)"

note "Postfix's text under every name"
"$SLUICE" mailq -c "$CONF" >"$T/pf.txt" || fail "sluice mailq failed"
for cmd in "$T/mailq -c $CONF" "$T/sendmail -c $CONF -bp"; do
    $cmd >"$T/other.txt" || fail "$cmd failed"
    cmp -s "$T/pf.txt" "$T/other.txt" || fail "$cmd differs: $(diff "$T/pf.txt" "$T/other.txt")"
done
cat "$T/pf.txt"
python3 - "$T/pf.txt" <<'PY' || fail "mailq output does not parse as Postfix's: $(cat "$T/pf.txt")"
import re, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0] == "-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------", lines[0]
# check_mailq (nagios-plugins, postfix branch): the summary line gives the message count
m = [re.match(r"^-- (\d+) Kbytes in (\d+) Requests?\.$", l) for l in lines]
m = [x for x in m if x]
assert len(m) == 1 and m[0].group(2) == "3", m
# one head line per message: queue id, status mark, size, asctime arrival, sender
heads = [l for l in lines if re.match(r"^[0-9A-F]{10,}[*! ] *\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  \S+$", l)]
assert len(heads) == 3, heads
assert sum(h.endswith("MAILER-DAEMON") for h in heads) == 1, heads
# deferred until 1h from now: not active, not held
assert all(re.match(r"^[0-9A-F]+ ", h) for h in heads), heads
reasons = [l for l in lines if re.match(r"^ +\(.*\)$", l)]
assert len(reasons) == 3 and all("refused" in r.lower() for r in reasons), reasons
rcpts = sorted(l.strip() for l in lines if re.match(r"^ {41}\S+@\S+$", l))
assert rcpts == ["u1@later.example", "u2@later.example", "u3@other.example"], rcpts
PY

note "--json: postqueue -j"
"$SLUICE" mailq -c "$CONF" --json >"$T/pf.json" || fail "mailq --json failed"
python3 - "$T/pf.json" <<'PY' || fail "mailq --json: $(cat "$T/pf.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(objs) == 3, objs
for o in objs:
    assert set(o) >= {"queue_name", "queue_id", "arrival_time", "message_size", "sender", "recipients"}, o
    assert o["queue_name"] == "deferred" and o["message_size"] > 0 and o["arrival_time"] > 1.6e9, o
    for r in o["recipients"]:
        assert r["address"].endswith(".example") and "refused" in r["delay_reason"].lower(), r
assert sorted(o["sender"] for o in objs) == ["", "sender@src.example", "sender@src.example"], objs
PY
qid3=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["sender"] == "": print(o["queue_id"])' "$T/pf.json")

note "sendmail -qR later.example: only that domain"
sink_start mx1 127.0.0.42
sink_start mx2 127.0.0.43
"$T/sendmail" -c "$CONF" -qR later.example >"$T/q.out" 2>&1 || fail "sendmail -qR: $(cat "$T/q.out")"
wait_until '[ "$(sink_rcpts mx1)" -ge 2 ]' 20 "later.example delivered after -qR"
log_has "flush: 2 recipients for later\.example made due" || fail "no -qR flush line"
expect_eq "$(sink_rcpts mx2)" 0 "other.example recipients delivered by -qR later.example"
expect_eq "$(mailq_count deferred)" 1 "deferred recipients left after -qR"

note "sendmail -qI QID: only that message"
"$T/sendmail" -c "$CONF" -qI "$qid3" >"$T/q.out" 2>&1 || fail "sendmail -qI: $(cat "$T/q.out")"
wait_until '[ "$(sink_rcpts mx2)" -ge 1 ]' 20 "the -qI message delivered"
log_has "flush: 1 recipients of $qid3 made due" || fail "no -qI flush line"
"$T/sendmail" -c "$CONF" -qI 'bogus id' >"$T/q.out" 2>&1 || fail "sendmail -qI with a bad id was not handed over"
wait_until 'log_has "queue run request I refused: bad value bogus id"' 10 "a bad -qI value refused by the daemon"

note "empty queue"
wait_until queue_empty 20 "empty queue"
"$T/mailq" -c "$CONF" >"$T/pf.txt"
expect_eq "$(cat "$T/pf.txt")" "Mail queue is empty" "mailq of an empty queue"
expect_eq "$("$SLUICE" mailq -c "$CONF" --json | wc -c)" 0 "mailq --json of an empty queue"
sluice_stop
rc=0
"$T/sendmail" -c "$CONF" -qR later.example >"$T/q.out" 2>&1 || rc=$?
expect_eq "$rc" 75 "sendmail -qR without a daemon"
exit 0
