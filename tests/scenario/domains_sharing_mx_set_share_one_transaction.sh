# Three domains with identical MX sets ride the same connection and transaction: one message
# to a recipient in each arrives as ONE transaction carrying all three recipients.
. "$SCN/lib.sh"

for d in alpha bravo charlie; do zone_mx "$d" "10 mx1" "20 mx2"; done
zone_mx delta "10 mx3"
zone_a mx1 127.0.0.2
zone_a mx2 127.0.0.3
zone_a mx3 127.0.0.4
dns_start
sink_start mx1 127.0.0.2
sink_start mx2 127.0.0.3
sink_start mx3 127.0.0.4
sluice_start

inject_swaks sender@src.example u1@alpha.example,u2@bravo.example,u3@charlie.example,u4@delta.example
wait_until '[ "$(sink_rcpts mx1)" -ge 3 ] && [ "$(sink_rcpts mx3)" -ge 1 ]' 30 \
    "3 recipients at mx1 and 1 at mx3"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_txn_rcpts mx1)" "u1@alpha.example u2@bravo.example u3@charlie.example" \
    "transactions at mx1 (one line each)"
expect_eq "$(sink_txn_rcpts mx3)" "u4@delta.example" "transactions at mx3"
expect_eq "$(sink_msgs mx2)" 0 "transactions at the second MX"
