# A peer that does not advertise PIPELINING gets one command at a time (RFC 2920).
. "$SCN/lib.sh"

zone_mx plain "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --no-pipelining --delay-ms 20
sluice_start

inject_swaks sender@src.example a@plain.example,b@plain.example,c@plain.example
wait_until '[ "$(peer_stat mx rcpts)" -ge 3 ]' 30 \
    "3 recipients at the MX"
expect_eq "$(peer_stat mx max_outstanding)" 1 "commands in flight"
expect_eq "$(peer_stat mx errors)" 0 "protocol errors seen by the peer"
