# docs/dsn.md "Double bounces": when the notice to deliver.double_bounce itself fails (its
# MX refuses the postmaster address with 5xx), that failure is dropped and logged, never
# reported again: one bounce, one notice, one drop line, then an empty queue.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
zone_mx pm "10 pmx"
zone_a pmx 127.0.0.40
dns_start
peer_start mx 127.0.0.20 --reject-rcpt '^bad@=550 5.1.1 no such user'
peer_start bounces 127.0.0.30 --reject-rcpt '^sender@=550 5.1.1 sender unknown here'
peer_start pm 127.0.0.40 --reject-rcpt '^postmaster@=550 5.1.1 no postmaster here'
conf_set deliver.double_bounce '"postmaster@pm.example"'
sluice_start

inject_swaks sender@src.example bad@d.example
wait_until "log_has 'to=<postmaster@pm\.example>: undeliverable report dropped \(double bounce\)'" 30 \
    "the drop line of the failed notice"
wait_until queue_empty 20 "empty queue after the drop"
expect_eq "$(log_count 'to=<sender@src\.example>, relay=')" 1 "attempts to deliver the bounce"
expect_eq "$(log_count 'to=<postmaster@pm\.example>, relay=.*status=bounced')" 1 \
    "attempts to deliver the notice"
expect_eq "$(log_count 'sender delivery status notification')" 2 "reports queued (bounce, notice)"
expect_eq "$(log_count 'undeliverable report dropped')" 1 "drop lines"
