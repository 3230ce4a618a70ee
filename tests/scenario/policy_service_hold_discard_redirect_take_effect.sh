# Policy server actions HOLD, DISCARD and REDIRECT (docs/policy.md), from a policy server
# answering per recipient: HOLD stores the message held (`sluice mailq` shows QID!, nothing
# is delivered) until `sluice ctl release QID` delivers it; DISCARD gets 250 and the message
# is dropped (logged, never at the MX, not in the queue); REDIRECT replaces every recipient
# of the message by its address (only that address reaches the MX). Each action is logged
# with the rule. The config accepts them as default_action / policy_default_action.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
bg_start pp python3 "$SCN/policypeer.py" --listen 127.0.0.1:10041 --mode reply --reply DUNNO \
    --for held@one.example=HOLD --for gone@one.example='DISCARD spam trap' \
    --for x@one.example='REDIRECT <target@one.example>'
wait_until "port_open 127.0.0.1 10041" 10 "policy peer"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "one.example" ]'
conf_set smtpd.policy_services '[ "inet:127.0.0.1:10041 default_action=HOLD" ]'
conf_set smtpd.policy_default_action '"DISCARD"'
sluice_start

note "HOLD: stored held"
inject_swaks a@src.test held@one.example
wait_until 'log_has ": hold: policy HOLD; from=<a@src\.test>"' 10 "hold log line"
H=$(sed -nE 's/.* ([0-9A-F]{16}): hold: policy HOLD.*/\1/p' "$SLUICE_LOG" | head -1)
[ -n "$H" ] || fail "no queue id for the held message"
log_has 'NOQUEUE: hold: RCPT from unknown\[127\.0\.0\.1\]: <held@one\.example>: Recipient address triggers hold action; from=<a@src\.test> to=<held@one\.example> proto=ESMTP helo=<inject\.example> rule=<policy inet:127\.0\.0\.1:10041 HOLD>' ||
    fail "hold NOQUEUE line: $(grep NOQUEUE "$SLUICE_LOG")"
"$SLUICE" mailq -c "$CONF" >"$T/mailq.out" 2>&1 || fail "mailq: $(cat "$T/mailq.out")"
grep -q "^$H!" "$T/mailq.out" || fail "mailq does not show $H!: $(cat "$T/mailq.out")"

note "DISCARD: 250, dropped"
swaks --server "127.0.0.1:$SMTP_PORT" --helo inject.example --from a@src.test --to gone@one.example \
    >"$T/swaks.gone" 2>&1 || fail "swaks discard: $(cat "$T/swaks.gone")"
grep -q '^<-  250 2.0.0 Ok: queued as' "$T/swaks.gone" || fail "DISCARD reply: $(cat "$T/swaks.gone")"
log_has ': discard: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: policy DISCARD; from=<a@src\.test> nrcpt=1' ||
    fail "no discard log line"
log_has 'NOQUEUE: discard: RCPT from .*rule=<policy inet:127\.0\.0\.1:10041 DISCARD spam trap>' ||
    fail "discard NOQUEUE line"

note "REDIRECT: only the redirect address gets the message"
inject_swaks a@src.test x@one.example,y@one.example
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 20 "redirected message at the MX"
log_has ': redirect: policy REDIRECT; from=<a@src\.test> to=<target@one\.example>' || fail "no redirect line"
expect_eq "$(peer_rcpt_list mx)" "target@one.example" "recipients at the MX (held and discarded absent)"
mq
grep -q 'gone@one.example' "$T/mailq.txt" && fail "the discarded message is queued"
expect_eq "$(mailq_count)" 1 "queued recipients: only the held one"

note "release: the held message is delivered"
ctl_ok release "$H"
wait_until '[ "$(peer_stat mx messages)" -ge 2 ]' 20 "released message at the MX"
expect_eq "$(peer_rcpt_list mx | sort | tr '\n' ' ')" "held@one.example target@one.example " "recipients at the MX"
wait_until queue_empty 10 "empty queue"
sluice_alive || fail "sluice died"
