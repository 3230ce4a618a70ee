# deliver.interval_high / interval_low: `sluice submit` wakes the daemon through
# spool/incoming.sock; when that wakeup is lost the daemon still finds the message by polling
# the queue's incoming table, every interval_high while polls find nothing and every
# interval_low after a poll that found mail. The socket is hidden (renamed) so submissions
# cannot wake the daemon. With interval_high 100 ms and interval_low 1h:
#  - m1, submitted unannounced after idle polls, is found and delivered (within 10 s; the
#    15 s default interval_high would not be);
#  - that poll found mail, so the next is an hour away: m2, submitted unannounced now, is
#    still queued and unattempted after a delivery of seconds to a slow MX that began after
#    it (an interval_high poll would have found it 20 times over);
#  - with the socket back, a submission that wakes the daemon brings m2 along.
. "$SCN/lib.sh"

zone_mx poll "10 mx"
zone_a mx 127.0.0.20
zone_mx slow "10 slowmx"
zone_a slowmx 127.0.0.21
dns_start
peer_start mx 127.0.0.20
peer_start slowmx 127.0.0.21 --delay-ms 300
conf_set deliver.interval_high '"100"'
conf_set deliver.interval_low '"1h"'
sluice_start
sock=$T/spool/incoming.sock
[ -S "$sock" ] || fail "no wakeup socket at $sock"
mv "$sock" "$sock.hidden"

# submit_msg NAME: message NAME to NAME@poll.example through `sluice submit`.
submit_msg() {
    printf 'Subject: %s\n\nbody\n' "$1" | submit sender@src.example "$1@poll.example"
}

note "m1 without wakeup"
submit_msg m1
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 10 "m1 at the MX (found by an interval_high poll)"
expect_eq "$(peer_rcpt_list mx)" "m1@poll.example" "recipients at the MX"

note "m2 without wakeup, after a poll that found mail"
submit_msg m2
inject_swaks sender@src.example u@slow.example
wait_until '[ "$(peer_stat slowmx messages)" -ge 1 ]' 30 "the message at the slow MX"
expect_eq "$(peer_rcpt_list mx)" "m1@poll.example" "recipients at the MX after the slow delivery"
expect_eq "$(mailq_field m2@poll.example 5)" pending "state of m2"
expect_eq "$(log_count 'to=<m2@poll\.example>')" 0 "delivery log lines of m2"

note "m3 with wakeup"
mv "$sock.hidden" "$sock"
submit_msg m3
wait_until '[ "$(peer_stat mx messages)" -ge 3 ]' 10 "m2 and m3 at the MX"
expect_eq "$(peer_rcpt_list mx | sort | tr '\n' ' ')" "m1@poll.example m2@poll.example m3@poll.example " \
    "recipients at the MX"
wait_until queue_empty 20 "empty queue"
