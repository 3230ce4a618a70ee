# An MX host with 100 A records (a 1.6 KB answer, over the 1232-byte EDNS buffer: TCP
# fallback). sluice keeps at most DNS_ADDR_MAX (16) addresses of it and delivers to one of
# them (peer.py listens on all 100).
. "$SCN/lib.sh"

zone_mx manya "10 multi"
listen=()
for i in $(seq 1 100); do
    zone_a multi 127.0.1.$i
    [ "$i" -gt 1 ] && listen+=(--listen "127.0.1.$i:25")
done
dns_log
dns_start
peer_start multi 127.0.1.1 "${listen[@]}"
sluice_start

inject_swaks sender@src.example u1@manya.example
wait_until '[ "$(peer_stat multi messages)" -ge 1 ]' 40 "u1@manya.example at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list multi)" u1@manya.example "recipients at the MX"
n=$(dns_tcp_queries multi.example)
[ "$n" -ge 1 ] || fail "TCP queries for multi.example: got $n, want >= 1"
note "queries for multi.example over TCP: $n"
