# A domain with a null MX ("0 .", RFC 7505) accepts no mail: its recipient fails
# permanently at once (log status=bounced), never deferred, never connected to.
. "$SCN/lib.sh"

zone_nullmx nomail
dns_start
sluice_start

inject_swaks sender@src.example u1@nomail.example
wait_until "log_has 'to=<u1@nomail\.example>.*status=bounced'" 30 "log: to=<u1@nomail.example> ... status=bounced"
expect_eq "$(log_count 'to=<u1@nomail\.example>.*status=deferred')" 0 "deferrals of u1@nomail.example"
log_has 'to=<u1@nomail\.example>.*dsn=5\.1\.10, status=bounced' ||
    fail "bounce of u1@nomail.example does not carry dsn=5.1.10 (RFC 7505): $(grep 'to=<u1@nomail' "$SLUICE_LOG")"
state=$(mailq_field u1@nomail.example 5)
case $state in "" | failed) ;; *) fail "mailq state of u1@nomail.example: got '$state', want failed or gone" ;; esac
