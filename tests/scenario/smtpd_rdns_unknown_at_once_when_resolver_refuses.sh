# When nothing listens at the configured resolver address (127.0.0.1:53 here: every query
# gets an ICMP port unreachable), the client's reverse lookup fails at once instead of
# waiting out libunbound's retransmissions (about 5 s): the resolver's refusal is seen by
# sluice's own probe, logged once ("dns: resolver 127.0.0.1@53 refused ..."), and the
# client's name in the Received header is "unknown". This test proves the refusal path was
# taken (the log line, the outcome); that the lookup ends within milliseconds rather than
# seconds is measured by the unit test test_dns/test_mx_dead_forwarder (its reason names
# the refusal, which libunbound's own SERVFAIL after its retries never does), not timed
# here.
. "$SCN/lib.sh"

# No dns_start: nothing listens on 127.0.0.1:53. The relay is an address literal, so the
# delivery needs no DNS either.
sink_start mx 127.0.0.3
conf_set deliver.relays '( { address = "[127.0.0.3]:25"; } )'
conf_set smtpd.rdns_timeout '"1m"' # never the reason the lookup ends
sluice_start

inject_swaks a@src.example u1@x.example --helo first.client
inject_swaks a@src.example u2@x.example --helo second.client --local-interface 127.0.0.50
wait_until '[ "$(sink_msgs mx)" -ge 2 ]' 30 "2 messages at the relay"
wait_until queue_empty 20 "empty queue"
for c in first.client:127.0.0.1 second.client:127.0.0.50; do
    got=$(grep -h "^Received: from ${c%%:*} " "$T/sinks/mx"/t.* | head -1 | tr -d '\r')
    expect_eq "$got" "Received: from ${c%%:*} (unknown [${c#*:}])" "Received of ${c%%:*}"
done
log_has 'warning: dns: resolver 127\.0\.0\.1@53 refused \(Connection refused\)' ||
    fail "no log line saying the resolver refused: $(grep 'dns:' "$SLUICE_LOG" | tail -3)"
expect_eq "$(log_count 'dns: resolver .* refused')" 1 "'resolver refused' log lines (once per outage)"
exit 0
