# Policy delegation at the end of DATA (docs/policy.md, smtpd.policy_services_data, as
# Postfix's smtpd_end_of_data_restrictions = check_policy_service): the server is asked once
# per message after the final dot, with protocol_state=END-OF-MESSAGE, the message's size
# and recipient_count (and recipient only when there is one). REJECT gives 554 after DATA and
# nothing is queued (logged "QID: reject: END-OF-MESSAGE from ..."); DEFER gives 450; OK
# accepts and the message is delivered; PREPEND adds its header to the message.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.2
dns_start
sink_start mx 127.0.0.2
bg_start pp python3 "$SCN/policypeer.py" --listen 127.0.0.1:10051 --mode reply --reply OK \
    --for rej@d.example='REJECT no such content here' --for def@d.example='DEFER 4.7.1 come back later' \
    --for pre@d.example='PREPEND X-Checked: end of data' --log "$T/pp.jsonl"
wait_until "port_open 127.0.0.1 10051" 10 "policy peer"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "d.example" ]'
conf_set smtpd.policy_services_data '[ "inet:127.0.0.1:10051" ]'
sluice_start

send() { # send TO[,TO]: swaks transcript in $T/swaks.out; its status
    swaks --server "127.0.0.1:$SMTP_PORT" --helo client.test --from a@src.test --to "$1" \
        --header "Subject: eod" >"$T/swaks.out" 2>&1
}
dot_reply() { sed -n 's/^<[~*]* *\(.*\)/\1/p' "$T/swaks.out" | grep -v '^354' | tail -2 | head -1; }

note "REJECT: 554 after the dot, nothing queued"
send rej@d.example && fail "REJECT was accepted: $(cat "$T/swaks.out")"
expect_eq "$(dot_reply)" "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: no such content here" "REJECT reply"
log_has '[0-9A-F]{16}: reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 <END-OF-MESSAGE>: End-of-data rejected: no such content here; from=<a@src\.test> proto=ESMTP helo=<client\.test> rule=<policy inet:127\.0\.0\.1:10051 REJECT>' ||
    fail "no reject line: $(grep 'reject:' "$SLUICE_LOG")"
expect_eq "$(mailq_count)" 0 "queued after REJECT"

note "DEFER: 450 after the dot"
send def@d.example && fail "DEFER was accepted: $(cat "$T/swaks.out")"
expect_eq "$(dot_reply)" "450 4.7.1 <END-OF-MESSAGE>: End-of-data rejected: come back later" "DEFER reply"
expect_eq "$(mailq_count)" 0 "queued after DEFER"

note "OK: accepted and delivered; the request carried size and recipient_count"
send one@d.example,two@d.example || fail "OK refused: $(cat "$T/swaks.out")"
wait_until '[ "$(sink_msgs mx)" = 1 ]' 20 "the accepted message at the sink"
python3 - "$T/pp.jsonl" <<'PY' || fail "END-OF-MESSAGE requests: $(cat "$T/pp.jsonl")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 3, reqs  # one per message, none at RCPT
assert all(r["protocol_state"] == "END-OF-MESSAGE" for r in reqs), reqs
assert reqs[0]["recipient"] == "rej@d.example" and reqs[0]["recipient_count"] == "1", reqs[0]
ok = reqs[2]
assert ok["recipient"] == "" and ok["recipient_count"] == "2", ok
assert int(ok["size"]) > 100 and len(ok["queue_id"]) == 16, ok
assert ok["sender"] == "a@src.test" and ok["client_address"] == "127.0.0.1", ok
PY

note "PREPEND: the header is on the delivered message"
send pre@d.example || fail "PREPEND refused: $(cat "$T/swaks.out")"
wait_until '[ "$(sink_msgs mx)" = 2 ]' 20 "the second message at the sink"
grep -lq '^X-Checked: end of data' "$T"/sinks/mx/t.* || fail "no X-Checked header"
sluice_alive || fail "sluice died"
sluice_stop
