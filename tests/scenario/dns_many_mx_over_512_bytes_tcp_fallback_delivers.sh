# An MX answer far over 512 bytes (and over the 1232-byte EDNS buffer): 60 MX records with
# long host names, about 5 KB. The UDP answer is truncated (TC), the resolver retries over
# TCP and gets it whole; sluice keeps the 32 lowest preferences (DNS_MX_MAX) and delivers to
# the preferred host. The DNS front's log shows the TCP query.
. "$SCN/lib.sh"

for i in $(seq 10 69); do
    h=mx-$i-with-a-rather-long-host-name-to-make-the-answer-big
    zone_mx big "$i $h"
    zone_a "$h" 127.0.0.42
done
dns_log
dns_start
sink_start big 127.0.0.42
sluice_start

inject_swaks sender@src.example u1@big.example
wait_until '[ "$(sink_rcpts big)" -ge 1 ]' 40 "u1@big.example at its MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list big)" u1@big.example "recipients at the MX"
n=$(dns_tcp_queries big.example)
[ "$n" -ge 1 ] || fail "TCP queries for big.example MX: got $n, want >= 1 (udp: $(grep -c '^udp big.example ' "$T/dns/queries"))"
note "MX queries for big.example: $(grep -c '^udp big.example MX' "$T/dns/queries") over UDP, $n over TCP"
