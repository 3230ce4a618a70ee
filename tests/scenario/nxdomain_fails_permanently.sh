# A recipient domain that does not exist (NXDOMAIN) fails the recipient permanently at the
# first attempt: log status=bounced, never deferred, not left pending in the queue.
. "$SCN/lib.sh"

zone_mx ok "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start

inject_swaks sender@src.example u1@nx.example,u2@ok.example
wait_until "log_has 'to=<u1@nx\.example>.*status=bounced'" 30 "log: to=<u1@nx.example> ... status=bounced"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "u2@ok.example at its MX"
expect_eq "$(log_count 'to=<u1@nx\.example>.*status=deferred')" 0 "deferrals of u1@nx.example"
log_has 'to=<u1@nx\.example>.*dsn=5\.4\.4, status=bounced' ||
    fail "bounce of u1@nx.example does not carry dsn=5.4.4 (RFC 3463 unroutable): $(grep 'to=<u1@nx' "$SLUICE_LOG")"
state=$(mailq_field u1@nx.example 5)
case $state in "" | failed) ;; *) fail "mailq state of u1@nx.example: got '$state', want failed or gone" ;; esac
