# The first MX accepts the connection but greets with 421: the mail goes to the second MX
# (RFC 5321 §5.1: try the next MX after a transient failure of one).
. "$SCN/lib.sh"

zone_mx fo "10 mx1" "20 mx2"
zone_a mx1 127.0.0.11
zone_a mx2 127.0.0.12
dns_start
peer_start mx1 127.0.0.11 --greeting-code 421
sink_start mx2 127.0.0.12
sluice_start

inject_swaks sender@src.example u1@fo.example
wait_until '[ "$(sink_rcpts mx2)" -ge 1 ]' 30 "u1@fo.example at the second MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list mx2)" "u1@fo.example" "recipients at the second MX"
