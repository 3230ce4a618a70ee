# A destination none of whose hosts will talk (every session gets "421" at the greeting) is
# remembered as dead for half the retry unit: 40 messages injected one by one are all deferred
# with the server's reason, but the MX sees only a handful of connections, not one per
# message (Postfix's dead-destination cache).
. "$SCN/lib.sh"

zone_mx dead "10 mx"
zone_a mx 127.0.0.40
dns_start
faultpeer_start mx 127.0.0.40 greet421
conf_set deliver.interval '"1m"'
sluice_start
for i in $(seq 1 40); do
    inject_swaks sender@src.example "u$i@dead.example"
done
wait_until '[ "$(log_count "status=deferred")" -ge 40 ]' 30 "40 deferrals"
expect_eq "$(mailq_count)" 40 "deferred recipients in the queue"
opened=$(faultpeer_opened mx)
expect_le "$opened" 5 "connections the dead MX saw for 40 messages"
log_has "to=<u40@dead.example>.*status=deferred \\(421" || fail "the 421 is not the reason given"
exit 0
