# A recipient domain whose MX lookup gets SERVFAIL is deferred, not bounced: mailq shows it
# deferred with a DNS reason; once DNS answers again it is not bounced by mistake.
. "$SCN/lib.sh"

zone_mx broken "10 mx"
zone_a mx 127.0.0.3
dns_servfail broken
dns_start
sluice_start

inject_swaks sender@src.example u1@broken.example
wait_until '[ "$(mailq_field u1@broken.example 5)" = deferred ]' 60 "mailq: u1@broken.example deferred"
last=$(mailq_field u1@broken.example 8)
echo "$last" | grep -Eqi 'dns|resolv|lookup|servfail|fail|mx' ||
    fail "mailq LAST of u1@broken.example: got '$last', want a DNS reason"
log_has 'to=<u1@broken\.example>.*dsn=4\.4\.3, status=deferred' ||
    fail "no log line: to=<u1@broken.example> ... dsn=4.4.3, status=deferred: $(grep 'to=<u1@broken' "$SLUICE_LOG")"
expect_eq "$(log_count 'to=<u1@broken\.example>.*status=bounced')" 0 "bounces of u1@broken.example"
