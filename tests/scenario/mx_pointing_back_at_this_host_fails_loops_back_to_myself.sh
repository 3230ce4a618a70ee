# A destination that is this host is found before the first attempt (as Postfix): sluice
# also listens on 127.0.0.9:25 (deliver.port is 25). The MX of loop.example is self.example
# (A 127.0.0.9), the MX of name.example is this host's own name (sluice.example), and the
# transport map sends tl.example to "smtp:[127.0.0.9]:25": all three bounce at once with
# 5.4.6 "mail for ... loops back to myself" and sluice never connects to itself. The MX set
# of bk.example is "5 down" (nothing listens) and "10 self": we are the backup MX, so only
# the better host is tried (deferred, connection refused), never ourselves.
. "$SCN/lib.sh"

zone_mx loop "10 self"
zone_mx name "10 sluice"
zone_mx bk "5 down" "10 self"
zone_a self 127.0.0.9
zone_a sluice 127.0.0.9
zone_a down 127.0.0.21
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
conf_set smtpd.listen "[ \"127.0.0.1:$SMTP_PORT\", \"127.0.0.9:25\" ]"
conf_set transport '( { domains = [ "tl.example" ]; nexthop = "smtp:[127.0.0.9]:25"; } )'
sluice_start

inject_swaks sender@src.example u@loop.example,u@name.example,u@tl.example,u@bk.example
wait_until '[ "$(log_count "status=bounced.*loops back to myself")" -ge 3 ]' 30 "3 loop bounces"
log_has 'to=<u@loop\.example>.*dsn=5\.4\.6, status=bounced \(5\.4\.6 mail for loop\.example loops back to myself\)' ||
    fail "loop.example: $(grep 'u@loop' "$SLUICE_LOG")"
log_has 'to=<u@name\.example>.*dsn=5\.4\.6, status=bounced .*loops back to myself' ||
    fail "name.example: $(grep 'u@name' "$SLUICE_LOG")"
log_has 'to=<u@tl\.example>.*dsn=5\.4\.6, status=bounced .*mail for smtp:\[127\.0\.0\.9\]:25 loops back to myself' ||
    fail "tl.example: $(grep 'u@tl' "$SLUICE_LOG")"
wait_until 'log_has "to=<u@bk\.example>.*status=deferred"' 30 "bk.example deferred"
log_has 'to=<u@bk\.example>.*status=deferred .*down\.example\[127\.0\.0\.21\]:25: Connection refused' ||
    fail "bk.example not deferred at its better MX: $(grep 'u@bk' "$SLUICE_LOG")"
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the bounce at the sender's MX"
expect_eq "$(log_count 'client=\[127\.0\.0\.9\]|client=.*127\.0\.0\.9')" 0 "connections sluice made to itself"
expect_eq "$(log_count 'client=')" 1 "messages sluice accepted (only the injected one)"
