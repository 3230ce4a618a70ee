# A relay host dies in the middle of a run (peer.py --die-after: it stops listening and
# closes its sessions after the replies it has written, so what it logged got its 250 and
# nothing cut off is logged). Parallel (four hosts, 2,000 recipients of one list message,
# 40 transactions): the dead host keeps what it accepted, its lane fails over to the other
# hosts, transactions cut off are deferred and delivered elsewhere on retry. Failover (two
# hosts, 20 messages): the first host dies after 5, the second takes the rest. In both,
# every recipient is delivered exactly once and none is lost.
. "$SCN/lib.sh"

dns_start
peer_start p1 127.0.0.51
peer_start p2 127.0.0.52 --die-after 3
peer_start p3 127.0.0.53
peer_start p4 127.0.0.54
peer_start f1 127.0.0.61 --die-after 5
peer_start f2 127.0.0.62
conf_set deliver.relays '( { address = [ "[127.0.0.51]", "[127.0.0.52]", "[127.0.0.53]", "[127.0.0.54]" ];
      spread = "parallel"; order = "random"; destdomains = [ "list.example" ]; },
    { address = [ "[127.0.0.61]", "[127.0.0.62]" ]; destdomains = [ "f.example" ]; } )'
conf_set deliver.maxrecips 50
conf_set deliver.maxserverconnections 2
sluice_start

N=2000
seq 1 $N | sed 's/^/u/; s/$/@list.example/' >"$T/rcpts"
printf 'Subject: list article\n\nbody\n' | submit owner@src.example $(cat "$T/rcpts")
for i in $(seq 1 20); do
    printf 'Subject: f%s\n\nbody\n' $i | submit owner@src.example m$i@f.example
done
total() { echo $(( $(peer_stat p1 rcpts) + $(peer_stat p2 rcpts) + $(peer_stat p3 rcpts) + $(peer_stat p4 rcpts) )); }
wait_until '[ "$(total)" -ge $N ] && [ $(( $(peer_stat f1 rcpts) + $(peer_stat f2 rcpts) )) -ge 20 ]' 60 \
    "$N list recipients and 20 f.example messages delivered"
wait_until queue_empty 30 "empty queue"

grep -q '"type": "died"' "$T/peers/p2.jsonl" || fail "p2 never died"
grep -q '"type": "died"' "$T/peers/f1.jsonl" || fail "f1 never died"
expect_eq "$(peer_stat p2 messages)" 3 "transactions p2 accepted before it died"
expect_eq "$(peer_stat f1 messages)" 5 "messages f1 accepted before it died"
for i in 1 2 3 4; do note "p$i: $(peer_rcpt_list p$i | wc -l) recipients"; done
note "f1: $(peer_stat f1 messages) messages, f2: $(peer_stat f2 messages) messages"
for i in 1 2 3 4; do peer_rcpt_list p$i; done | sort >"$T/got"
sort "$T/rcpts" >"$T/want"
expect_eq "$(wc -l <"$T/got")" $N "list recipients delivered (duplicates count twice)"
cmp -s "$T/got" "$T/want" || fail "delivered list recipients differ from the list"
{ peer_rcpt_list f1; peer_rcpt_list f2; } | sort >"$T/fgot"
seq 1 20 | sed 's/^/m/; s/$/@f.example/' | sort >"$T/fwant"
cmp -s "$T/fgot" "$T/fwant" || fail "f.example recipients: got $(tr '\n' ' ' <"$T/fgot")"
expect_eq "$(log_count 'status=bounced')" 0 "bounces"
