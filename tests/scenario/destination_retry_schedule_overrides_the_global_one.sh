# Per-destination retry schedule (issue 13, point 1): a deliver.policies block gives
# fast.example retries = "1" and interval = "1s" while the global schedule is one minute.
# Both MXs answer every RCPT with 451: fast.example's recipient is tried again and again
# on its own schedule while slow.example's has had its one attempt (counted in the log,
# not timed); --explain shows which block set the values.
. "$SCN/lib.sh"

zone_mx fast "10 mxf"
zone_a mxf 127.0.0.20
zone_mx slow "10 mxs"
zone_a mxs 127.0.0.21
dns_start
conf_set deliver.interval '"1m"'
conf_set deliver.retries '"1 1"'
conf_set deliver.policies '( { match = [ "fast.example" ]; retries = "1"; interval = "1s";
    skew = 0; } )'
peer_start mxf 127.0.0.20 --tempfail-rcpt '.=451 4.3.0 try later'
peer_start mxs 127.0.0.21 --tempfail-rcpt '.=451 4.3.0 try later'
sluice_start
out=$("$SLUICE" check-config -c "$CONF" --explain fast.example)
case $out in *'interval = "1s"  # deliver.policies[0]'*'skew = 0  # deliver.policies[0]'*) ;;
    *) fail "check-config --explain fast.example: got $out" ;; esac
out=$("$SLUICE" check-config -c "$CONF" --explain slow.example)
case $out in *'interval = "1m"  # deliver.interval'*) ;;
    *) fail "check-config --explain slow.example: got $out" ;; esac

inject_swaks sender@src.example a@slow.example
wait_until "log_has 'to=<a@slow\.example>.*status=deferred'" 30 "first deferral of a@slow.example"
inject_swaks sender@src.example b@fast.example
wait_until '[ "$(log_count "to=<b@fast\.example>.*status=deferred")" -ge 4 ]' 30 \
    "four attempts of b@fast.example (have $(log_count 'to=<b@fast\.example>.*status=deferred'))"
expect_eq "$(log_count 'to=<a@slow\.example>.*status=deferred')" 1 \
    "attempts of a@slow.example (its next retry is a minute away)"
