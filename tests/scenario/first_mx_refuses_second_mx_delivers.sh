# The first MX (preference 10) refuses connections: the mail goes to the second MX (20)
# without waiting for a retry.
. "$SCN/lib.sh"

zone_mx fo "10 mx1" "20 mx2"
zone_a mx1 127.0.0.11
zone_a mx2 127.0.0.12
dns_start
sink_start mx2 127.0.0.12
sluice_start

inject_swaks sender@src.example u1@fo.example
wait_until '[ "$(sink_rcpts mx2)" -ge 1 ]' 30 "u1@fo.example at the second MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list mx2)" "u1@fo.example" "recipients at the second MX"
log_has 'to=<u1@fo\.example>.*relay=[^ ]*\[127\.0\.0\.12\]:25.*status=sent' ||
    fail "no log line: to=<u1@fo.example>, relay=...[127.0.0.12]:25, ... status=sent"
expect_eq "$(log_count 'to=<u1@fo\.example>.*status=deferred')" 0 "deferrals of u1@fo.example"
