# A relay with spread = "parallel" while one of its hosts is down: the dead host's share is
# delivered by its backup host on the backup's own connections, so every live host keeps
# its own limits the whole time (peer.py counts each host's concurrent sessions itself).
#  - list.example: four hosts, listed order, maxserverconnections = 2, and a
#    deliver.policies block giving h3 (127.0.0.33) maxserverconnections = 1. h2 refuses
#    connections; its backup is h3 (the next one listed), so h3 delivers its own quarter
#    and h2's, yet never has more than 1 session; h1 and h4 never more than 2.
#  - rnd.example: three hosts, order = "random", maxserverconnections = 2; r1 greets 421,
#    its share goes to r2 and r3, neither ever has more than 2 sessions.
# Every recipient is delivered exactly once, none is deferred (the share moves at once),
# none bounces.
. "$SCN/lib.sh"

dns_start
peer_start h1 127.0.0.31 --delay-ms 5
peer_start h2 127.0.0.32 --refuse
peer_start h3 127.0.0.33 --delay-ms 5
peer_start h4 127.0.0.34 --delay-ms 5
peer_start r1 127.0.0.41 --greeting-code 421
peer_start r2 127.0.0.42 --delay-ms 5
peer_start r3 127.0.0.43 --delay-ms 5
conf_set deliver.relays '( { address = [ "[127.0.0.31]", "[127.0.0.32]", "[127.0.0.33]", "[127.0.0.34]" ];
      spread = "parallel"; destdomains = [ "list.example" ]; },
    { address = [ "[127.0.0.41]", "[127.0.0.42]", "[127.0.0.43]" ];
      spread = "parallel"; order = "random"; destdomains = [ "rnd.example" ]; } )'
conf_set deliver.policies '( { match = [ "ip:127.0.0.33" ]; maxserverconnections = 1; } )'
conf_set deliver.maxserverconnections 2
conf_set deliver.initial_concurrency 0 # no slow start: each host's limit at once
conf_set deliver.maxrecips 10
conf_set deliver.queuecache 20000
sluice_start

N=2000 M=600
seq 1 $N | sed 's/^/u/; s/$/@list.example/' >"$T/rcpts"
seq 1 $M | sed 's/^/v/; s/$/@rnd.example/' >"$T/rrcpts"
printf 'Subject: list article\n\nbody\n' | submit owner@src.example $(cat "$T/rcpts")
printf 'Subject: random article\n\nbody\n' | submit owner@src.example $(cat "$T/rrcpts")
sum() { local t=0 p; for p; do t=$((t + $(peer_stat $p rcpts))); done; echo $t; }
wait_until '[ "$(sum h1 h3 h4)" -ge $N ] && [ "$(sum r2 r3)" -ge $M ]' 120 \
    "$N list.example and $M rnd.example recipients delivered"
wait_until queue_empty 30 "empty queue"

for h in h1 h3 h4 r2 r3; do
    note "$h: $(peer_rcpt_list $h | wc -l) recipients, $(peer_stat $h conns) connections, peak $(peer_stat $h peak) sessions"
done
expect_eq "$(peer_stat h2 conns)" 0 "sessions at h2 (down)"
expect_eq "$(peer_stat r1 messages)" 0 "messages at r1 (greets 421)"
expect_le "$(peer_stat h1 peak)" 2 "h1's peak sessions (maxserverconnections 2)"
expect_le "$(peer_stat h3 peak)" 1 "h3's peak sessions (its policy: maxserverconnections 1)"
expect_le "$(peer_stat h4 peak)" 2 "h4's peak sessions (maxserverconnections 2)"
expect_le "$(peer_stat r2 peak)" 2 "r2's peak sessions (maxserverconnections 2)"
expect_le "$(peer_stat r3 peak)" 2 "r3's peak sessions (maxserverconnections 2)"
# the recipients go to the four lanes in turn; h2's quarter is h3's (its next host listed)
expect_eq "$(peer_rcpt_list h1 | wc -l)" $((N / 4)) "recipients at h1 (its quarter)"
expect_eq "$(peer_rcpt_list h3 | wc -l)" $((N / 2)) "recipients at h3 (its quarter and h2's)"
expect_eq "$(peer_rcpt_list h4 | wc -l)" $((N / 4)) "recipients at h4 (its quarter)"
[ "$(peer_rcpt_list r2 | wc -l)" -ge $((M / 3)) ] || fail "r2 got less than its own third"
[ "$(peer_rcpt_list r3 | wc -l)" -ge $((M / 3)) ] || fail "r3 got less than its own third"

for h in h1 h3 h4; do peer_rcpt_list $h; done | sort >"$T/got"
sort "$T/rcpts" >"$T/want"
expect_eq "$(wc -l <"$T/got")" $N "list.example recipients delivered (duplicates count twice)"
cmp -s "$T/got" "$T/want" || fail "delivered list.example recipients differ from the list"
for h in r2 r3; do peer_rcpt_list $h; done | sort >"$T/rgot"
sort "$T/rrcpts" >"$T/rwant"
expect_eq "$(wc -l <"$T/rgot")" $M "rnd.example recipients delivered (duplicates count twice)"
cmp -s "$T/rgot" "$T/rwant" || fail "delivered rnd.example recipients differ from the list"
expect_eq "$(log_count 'status=deferred')" 0 "deferrals"
expect_eq "$(log_count 'status=bounced')" 0 "bounces"
