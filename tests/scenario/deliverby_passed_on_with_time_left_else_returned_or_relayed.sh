# DELIVERBY relayed (RFC 2852 §4.1.4, as sendmail does it): to a next hop that offers
# DELIVERBY the MAIL command carries BY= with the time left (the by-time minus the time the
# message spent here) and the same mode; a BY=n;R message is not relayed to a hop without
# DELIVERBY, or whose minimum by-time is longer than the time left, but returned (5.4.7);
# a BY=n;N message to a hop without DELIVERBY is relayed and its sender gets a "relayed"
# notice. The next hops are recording peers: one offers "DELIVERBY 30", one does not.
. "$SCN/lib.sh"

zone_mx d1 "10 mx1"
zone_a mx1 127.0.0.21
zone_mx d2 "10 mx2"
zone_a mx2 127.0.0.22
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
peer_start by 127.0.0.21 --ehlo-keyword "DELIVERBY 30"
peer_start noby 127.0.0.22
sink_start bounces 127.0.0.30
conf_set smtpd.deliverby '"1s"'
sluice_start

python3 - <<'PY' || fail "injection with BY= refused"
import smtplib
for rcpt, by in (("a@d1.example", "BY=600;R"), ("b@d1.example", "BY=600;NT"),
                 ("c@d2.example", "BY=600;R"), ("e@d2.example", "BY=600;N"),
                 ("f@d1.example", "BY=20;R")):
    s = smtplib.SMTP("127.0.0.1", 2525)
    s.ehlo("client.example")
    code, text = s.mail("sender@src.example", [by])
    assert code == 250, (code, text)
    code, text = s.rcpt(rcpt)
    assert code == 250, (code, text)
    code, text = s.data(b"Subject: " + rcpt.encode() + b"\r\n\r\nurgent\r\n")
    assert code == 250, (code, text)
    s.quit()
PY
wait_until '[ "$(peer_stat by messages)" -ge 2 ] && [ "$(peer_stat noby messages)" -ge 1 ]' 30 \
    "a and b at the DELIVERBY peer, e at the other"
wait_until '[ "$(sink_msgs bounces)" -ge 3 ]' 30 "two returns and one relayed notice"
wait_until queue_empty 20 "empty queue"

# what the peers received on MAIL (JSON lines: subject -> mail_args)
args() {
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "msg" and r["subject"] == sys.argv[2]:
        print(r["mail_args"])' "$T/peers/$1.jsonl" "$2"
}
a=$(args by a@d1.example)
b=$(args by b@d1.example)
grep -Eq '^SIZE=[0-9]+ BY=(59[0-9]|600);R$' <<<"$a" || fail "a@d1.example: MAIL parameters \"$a\", want BY=590..600;R"
grep -Eq '^SIZE=[0-9]+ BY=(59[0-9]|600);NT$' <<<"$b" || fail "b@d1.example: MAIL parameters \"$b\", want BY=590..600;NT"
e=$(args noby e@d2.example)
grep -q 'BY=' <<<"$e" && fail "BY= sent to a hop without DELIVERBY: $e"
peer_rcpt_list noby | grep -qx 'c@d2.example' && fail "the R message was relayed to a hop without DELIVERBY"
peer_rcpt_list by | grep -qx 'f@d1.example' && fail "f@d1.example relayed with less time left than the hop's minimum"

for f in $(find "$T/sinks/bounces" -type f -name 't.*'); do
    if grep -q 'Final-Recipient: rfc822; *c@d2.example' "$f"; then
        python3 "$SCN/dsn_check.py" "$f" failed c@d2.example 'Status=^5\.4\.7$' \
            'Diagnostic-Code=does not offer DELIVERBY' || fail "c: not a valid return: $(cat "$f")"
        c=1
    elif grep -q 'Final-Recipient: rfc822; *f@d1.example' "$f"; then
        python3 "$SCN/dsn_check.py" "$f" failed f@d1.example 'Status=^5\.4\.7$' \
            'Diagnostic-Code=cannot be delivered in time' || fail "f: not a valid return: $(cat "$f")"
        fr=1
    elif grep -q 'Final-Recipient: rfc822; *e@d2.example' "$f"; then
        python3 "$SCN/dsn_check.py" "$f" relayed e@d2.example 'Status=^2\.' ||
            fail "e: not a valid relayed notice: $(cat "$f")"
        e=1
    fi
done
[ "${c:-}" = 1 ] || fail "no return for c@d2.example"
[ "${fr:-}" = 1 ] || fail "no return for f@d1.example"
[ "${e:-}" = 1 ] || fail "no relayed notice for e@d2.example"
expect_eq "$(sink_msgs bounces)" 3 "reports (a and b were passed on with BY=: none for them)"
