# A relay with several hosts and the default spread = "failover" (FML's backup hosts): when
# the first host is down the next one takes all the mail, without waiting for a retry.
# Three relays, one per way of being down: a.example's first host refuses connections,
# b.example's greets 421, c.example's never answers (deliver.client.timeout 2s). Each second
# host receives every recipient exactly once; the first ones receive nothing; nothing is
# deferred. A name resolved by DNS works as a host (relayhost2.example for b.example).
. "$SCN/lib.sh"

zone_a relayhost2 127.0.0.32
dns_start
peer_start down1 127.0.0.31 --refuse
peer_start up1 127.0.0.41
peer_start down2 127.0.0.32 --greeting-code 421
peer_start up2 127.0.0.42
faultpeer_start down3 127.0.0.33 silent
peer_start up3 127.0.0.43
conf_set deliver.client.timeout '"2s"'
conf_set deliver.relays '( { address = [ "[127.0.0.31]", "[127.0.0.41]" ]; destdomains = [ "a.example" ]; },
    { address = [ "relayhost2.example", "127.0.0.42:25" ]; spread = "failover"; order = "listed";
      destdomains = [ "b.example" ]; },
    { address = [ "[127.0.0.33]:25", "[127.0.0.43]" ]; destdomains = [ "c.example" ]; } )'
sluice_start

for d in a b c; do
    seq 1 30 | sed "s/^/u/; s/\$/@$d.example/" >"$T/rcpts.$d"
    printf 'Subject: to %s\n\nbody\n' $d | submit owner@src.example $(cat "$T/rcpts.$d")
done
wait_until '[ "$(peer_stat up1 rcpts)" -ge 30 ] && [ "$(peer_stat up2 rcpts)" -ge 30 ] && [ "$(peer_stat up3 rcpts)" -ge 30 ]' 60 \
    "30 recipients at each second host"
wait_until queue_empty 20 "empty queue"

i=0
for d in a b c; do
    i=$((i + 1))
    expect_eq "$(peer_rcpt_list up$i | sort | tr '\n' ' ')" "$(sort "$T/rcpts.$d" | tr '\n' ' ')" \
        "recipients of $d.example at its second host, each once"
done
expect_eq "$(peer_stat down2 messages)" 0 "messages at the host greeting 421"
[ "$(peer_stat down2 conns)" -ge 1 ] || fail "the host greeting 421 was never tried"
[ "$(faultpeer_opened down3)" -ge 1 ] || fail "the silent host was never tried"
expect_eq "$(log_count 'status=deferred')" 0 "deferrals"
log_has 'to=<u1@b\.example>.*relay=127\.0\.0\.42\[127\.0\.0\.42\]:25.*status=sent' ||
    fail "no log line: to=<u1@b.example>, relay=127.0.0.42[127.0.0.42]:25, ... status=sent"
