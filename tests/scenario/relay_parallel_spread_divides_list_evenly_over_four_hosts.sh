# A relay with four hosts and spread = "parallel" (FML's @HOSTS): one list message of
# 10,000 recipients is divided over the four smtp-sink hosts, sent concurrently; each host
# gets its quarter within 5 % (2,375..2,625 recipients) and every recipient arrives exactly
# once. maxserverconnections = 2 holds per host: no sink ever has more than 2 sessions.
. "$SCN/lib.sh"

dns_start
for i in 1 2 3 4; do
    peer_start h$i 127.0.0.$((20 + i))
done
conf_set deliver.relays '( { address = [ "[127.0.0.21]", "[127.0.0.22]", "[127.0.0.23]", "[127.0.0.24]" ];
    spread = "parallel"; } )'
conf_set deliver.maxserverconnections 2
conf_set deliver.maxrecips 100
conf_set deliver.queuecache 20000
sluice_start

N=10000
seq 1 $N | sed 's/^/u/; s/$/@list.example/' >"$T/rcpts"
printf 'Subject: list article\n\nbody\n' | submit owner@src.example $(cat "$T/rcpts")
wait_until '[ $(( $(peer_stat h1 rcpts) + $(peer_stat h2 rcpts) + $(peer_stat h3 rcpts) + $(peer_stat h4 rcpts) )) -ge $N ]' 100 \
    "$N recipients over the four hosts"
wait_until queue_empty 30 "empty queue"

lo=$((N / 4 * 95 / 100)) hi=$((N / 4 * 105 / 100))
for i in 1 2 3 4; do
    got=$(peer_rcpt_list h$i | wc -l)
    note "host h$i (127.0.0.$((20 + i))): $got recipients, peak $(peer_stat h$i peak) sessions"
    [ "$got" -ge $lo ] && [ "$got" -le $hi ] || fail "host h$i got $got recipients, want $lo..$hi"
    [ "$(peer_stat h$i peak)" -le 2 ] || fail "host h$i had $(peer_stat h$i peak) sessions at once, want <= 2"
done
for i in 1 2 3 4; do peer_rcpt_list h$i; done | sort >"$T/got"
sort "$T/rcpts" >"$T/want"
expect_eq "$(sort -u "$T/got" | wc -l)" $N "distinct recipients delivered"
expect_eq "$(wc -l <"$T/got")" $N "recipients delivered (duplicates count twice)"
cmp -s "$T/got" "$T/want" || fail "delivered recipients differ from the list"
