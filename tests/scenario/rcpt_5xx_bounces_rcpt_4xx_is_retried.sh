# A sink answering 5xx to some recipients and 4xx (the first time only) to others: the 5xx
# recipient fails permanently at once (log status=bounced with its 5.1.1; never delivered,
# never pending again), the 4xx recipient is deferred and delivered on the retry, the good
# recipient is delivered the first time.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20 --reject-rcpt '^bad=550 5.1.1 no such user' \
    --tempfail-rcpt '^later=451 4.3.0 try later' --tempfail-times 1
sluice_start

inject_swaks sender@src.example good@d.example,bad@d.example,later@d.example
wait_until "log_has 'to=<bad@d\.example>.*status=bounced'" 30 "log: to=<bad@d.example> ... status=bounced"
log_has 'to=<bad@d\.example>.*dsn=5\.1\.1.*status=bounced' ||
    fail "bounce of bad@d.example does not carry dsn=5.1.1: $(grep 'to=<bad@d.example>' "$SLUICE_LOG")"
wait_until "log_has 'to=<later@d\.example>.*status=deferred'" 30 "log: to=<later@d.example> ... status=deferred"
log_has 'to=<later@d\.example>.*dsn=4\.3\.0.*status=deferred' ||
    fail "deferral of later@d.example does not carry dsn=4.3.0: $(grep 'to=<later@d.example>' "$SLUICE_LOG")"
wait_until '[ "$(peer_rcpt_list mx | grep -c "^later@d.example$")" -ge 1 ]' 30 "later@d.example delivered on retry"
wait_until "log_has 'to=<later@d\.example>.*status=sent'" 10 "log: to=<later@d.example> ... status=sent"
expect_eq "$(peer_rcpt_list mx | sort | tr '\n' ' ')" "good@d.example later@d.example " "recipients delivered"
expect_eq "$(log_count 'to=<good@d\.example>.*status=')" 1 "delivery attempts of good@d.example"
expect_eq "$(log_count 'to=<bad@d\.example>.*status=')" 1 "delivery attempts of bad@d.example"
state=$(mailq_field bad@d.example 5)
case $state in "" | failed) ;; *) fail "mailq state of bad@d.example: got '$state', want failed or gone" ;; esac
for r in good later; do
    state=$(mailq_field $r@d.example 5)
    case $state in "" | delivered) ;; *) fail "mailq state of $r@d.example: got '$state', want delivered or gone" ;; esac
done
