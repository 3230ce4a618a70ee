# deliver.idlemax (ZMailer): a connection with nothing left to send stays open up to idlemax
# waiting for more mail to the same destination; new mail goes out on it without a new
# connect. Three runs against one MX:
#  - idlemax 1h: m1 is delivered, then a delivery elsewhere that takes seconds (a slow MX,
#    longer than the 2 s default idlemax), then m2: m2 rides m1's connection, still open;
#  - idlemax 300 ms: m3's connection ends by itself (QUIT) with nothing more to send, and m4
#    then needs a new connection;
#  - idlemax 0: m5 and m6, one after the other, travel on two connections.
. "$SCN/lib.sh"

zone_mx idle "10 mx"
zone_a mx 127.0.0.20
zone_mx slow "10 slowmx"
zone_a slowmx 127.0.0.21
dns_start
peer_start mx 127.0.0.20
peer_start slowmx 127.0.0.21 --delay-ms 500

# inject_subject N: message mN to u@idle.example; waits until the MX has it.
inject_subject() {
    inject_swaks sender@src.example u@idle.example --header "Subject: m$1"
    wait_until "[ -n \"\$(peer_conn_of mx m$1)\" ]" 20 "m$1 at the MX"
}

note "idlemax 1h"
conf_set deliver.idlemax '"1h"'
sluice_conf
sluice_start
inject_subject 1
c1=$(peer_conn_of mx m1)
inject_swaks sender@src.example u@slow.example
wait_until '[ "$(peer_stat slowmx messages)" -ge 1 ]' 30 "the message at the slow MX"
expect_eq "$(peer_conn_end mx "$c1")" "" "m1's connection after the slow delivery (still open)"
inject_subject 2
expect_eq "$(peer_conn_of mx m2)" "$c1" "connection of m2 (m1's)"
sluice_stop
wait_until '[ -n "$(peer_conn_end mx "$c1")" ]' 10 "m1's connection closed at shutdown"
expect_eq "$(peer_conn_end mx "$c1")" quit "m1's connection end"

note "idlemax 300 ms"
conf_set deliver.idlemax '"300"'
sluice_conf
sluice_start
inject_subject 3
c3=$(peer_conn_of mx m3)
wait_until '[ -n "$(peer_conn_end mx "$c3")" ]' 10 "m3's connection closed after idlemax"
expect_eq "$(peer_conn_end mx "$c3")" quit "m3's connection end"
inject_subject 4
c4=$(peer_conn_of mx m4)
[ "$c4" != "$c3" ] || fail "m4 travelled on m3's connection $c3, want a new one"
sluice_stop

note "idlemax 0"
conf_set deliver.idlemax '"0"'
sluice_conf
sluice_start
inject_subject 5
inject_subject 6
c5=$(peer_conn_of mx m5)
c6=$(peer_conn_of mx m6)
[ "$c5" != "$c6" ] || fail "m5 and m6 shared connection $c5, want two connections"
wait_until '[ -n "$(peer_conn_end mx "$c5")" ]' 10 "m5's connection closed"
expect_eq "$(peer_conn_end mx "$c5")" quit "m5's connection end"
