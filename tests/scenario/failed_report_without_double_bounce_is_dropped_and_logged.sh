# docs/dsn.md "Double bounces": with deliver.double_bounce empty, a report that the sender's
# MX refuses with 5xx is dropped with one log line
# "QID: to=<rcpt>: undeliverable report dropped (double bounce)" and nothing else is sent.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
peer_start mx 127.0.0.20 --reject-rcpt '^bad@=550 5.1.1 no such user'
peer_start bounces 127.0.0.30 --reject-rcpt '^sender@=550 5.1.1 sender unknown here'
sluice_start

inject_swaks sender@src.example bad@d.example
wait_until "log_has 'to=<sender@src\.example>: undeliverable report dropped \(double bounce\)'" 30 \
    "the drop line of the failed bounce"
wait_until queue_empty 20 "empty queue after the drop"
expect_eq "$(log_count 'undeliverable report dropped')" 1 "drop lines"
expect_eq "$(log_count 'to=<sender@src\.example>, relay=')" 1 "attempts to deliver the bounce"
expect_eq "$(log_count 'sender delivery status notification')" 1 "reports queued (the bounce only)"
