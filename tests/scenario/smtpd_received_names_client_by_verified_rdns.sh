# The Received header names the client by its forward-confirmed reverse DNS name, as Postfix:
# "from HELO (NAME [IP])". A client whose PTR name resolves back to its address gets that name
# (lower-case); no PTR, a PTR name whose A records do not hold the address, and a lookup that
# is never answered (within smtpd.rdns_timeout) all give "unknown". The clients connect from
# different loopback addresses; the reverse zone 0.0.127.in-addr.arpa is served by the test
# nsd (libunbound's built-in 127.in-addr.arpa local zone must not answer instead).
. "$SCN/lib.sh"

REV=0.0.127.in-addr.arpa

# lib.sh serves only the zone "example.": keep its dns_write and add the reverse zone.
eval "lib_dns_write() $(declare -f dns_write | tail -n +2)"
dns_write() {
    lib_dns_write
    local d=$T/dns
    printf 'zone:\n  name: "%s."\n  zonefile: "%s.zone"\n' "$REV" "$REV" >>"$d/nsd.conf"
    {
        echo "\$TTL 60"
        echo "$REV. 60 IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60"
        echo "$REV. 60 IN NS ns.$ZONE."
        cat "$d/reverse"
    } >"$d/$REV.zone"
    nsd-checkzone "$REV." "$d/$REV.zone" >/dev/null || fail "bad zone: $(nsd-checkzone "$REV." "$d/$REV.zone" 2>&1)"
}

# zone_ptr LAST_OCTET NAME: the PTR of 127.0.0.LAST_OCTET.
zone_ptr() {
    echo "$1.$REV. 60 IN PTR $2" >>"$T/dns/reverse"
}
: >"$T/dns/reverse"

# client IP HELO RCPT: one message from IP (swaks binds it); must be accepted.
client() {
    inject_swaks a@src.example "$3" --helo "$2" --local-interface "$1"
}

# received_from HELO: the first line of the Received header of the message whose HELO it was.
received_from() {
    grep -h "^Received: from $1 " "$T/sinks/mx"/t.* | head -1 | tr -d '\r'
}

zone_mx rcv "10 mx"
zone_a mx 127.0.0.3
zone_a good 127.0.0.10
zone_ptr 10 Good.Example.
zone_a liar 127.0.0.99
zone_ptr 12 liar.example.
zone_ptr 13 slow.example.
dns_drop 13.$REV.
dns_start
dns_query $REV SOA | grep -q "^rcode=0" || fail "nsd does not serve the reverse zone: $(dns_query $REV SOA)"
sink_start mx 127.0.0.3
conf_set smtpd.rdns_timeout '"2s"'
sluice_start

note "verified PTR: the PTR name, lower-case"
client 127.0.0.10 verified.client u1@rcv.example
note "no PTR: unknown"
client 127.0.0.11 noptr.client u2@rcv.example
note "PTR name resolves elsewhere: unknown"
client 127.0.0.12 liar.client u3@rcv.example
note "PTR lookup never answered: unknown after rdns_timeout, message still accepted"
start=$(date +%s%N)
client 127.0.0.13 slow.client u4@rcv.example
took=$((($(date +%s%N) - start) / 1000000))
expect_le "$took" 10000 "ms for a message whose PTR lookup is never answered"

wait_until '[ "$(sink_msgs mx)" -ge 4 ]' 30 "4 messages at the sink"
expect_eq "$(received_from verified.client)" "Received: from verified.client (good.example [127.0.0.10])" \
    "Received of the verified client"
expect_eq "$(received_from noptr.client)" "Received: from noptr.client (unknown [127.0.0.11])" \
    "Received of the client without PTR"
expect_eq "$(received_from liar.client)" "Received: from liar.client (unknown [127.0.0.12])" \
    "Received of the client whose PTR name does not resolve back"
expect_eq "$(received_from slow.client)" "Received: from slow.client (unknown [127.0.0.13])" \
    "Received of the client whose PTR lookup timed out"
grep -h -A1 "^Received: from verified.client " "$T/sinks/mx"/t.* | grep -q 'by sluice\.example (sluice) with ESMTP id [0-9A-F]\{16\}' ||
    fail "rest of the Received header: $(grep -h -A2 '^Received: from verified' "$T/sinks/mx"/t.*)"
