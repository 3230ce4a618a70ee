# Alias targets that are remote addresses: the expansion of one local recipient is stored as
# ONE new queued message (same content and sender) in the same queue transaction that marks
# the local recipient done. An :include: list of 10,000 remote addresses is one commit (the
# log line "expanded 10000 recipients in one commit" appears once) and every address reaches
# the smarthost; a short alias to two remote addresses and one duplicate delivers each once.
. "$SCN/lib.sh"

chmod 755 "$T"
python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write("m%05d@remote.example\n" % i)' "$T/list.txt"
chmod 644 "$T/list.txt"
cat >"$T/aliases" <<EOF2
biglist: :include:$T/list.txt
pair: a@far.example, b@far.example, A@far.example
EOF2
conf_set aliases "[ \"$T/aliases\" ]"
conf_set smtpd.local_domains '[ "local.example" ]'
conf_set deliver.relays '( { address = "[127.0.0.7]:25"; } )'
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/na.out" 2>&1 || fail "newaliases: $(cat "$T/na.out")"
peer_start smarthost 127.0.0.7
sluice_start

printf 'Subject: pair\n\nto the pair\n' | submit "owner@src.example" "pair@local.example"
wait_until 'log_has "to=<pair@local.example>.*status=sent \(2.0.0 expanded into 2 recipients"' 30 "pair expanded"
wait_until '[ "$(peer_stat smarthost rcpts)" -ge 2 ]' 30 "the pair at the smarthost"
expect_eq "$(peer_rcpt_list smarthost | tr A-Z a-z | sort | tr '\n' ' ')" "a@far.example b@far.example " "pair recipients"

printf 'Subject: big\n\nto the big list\n' | submit "owner@src.example" "biglist@local.example"
wait_until 'log_has "to=<biglist@local.example>.*status=sent \(2.0.0 expanded into 10000 recipients"' 60 "list expanded"
expect_eq "$(log_count 'local: expanded 10000 recipients in one commit')" 1 "commits of the 10,000 expansion"
wait_until '[ "$(peer_stat smarthost rcpts)" -ge 10002 ]' 300 "10,000 recipients at the smarthost"
wait_until queue_empty 60 "empty queue"
expect_eq "$(peer_rcpt_list smarthost | grep -c '@remote.example$')" 10000 "list deliveries"
expect_eq "$(peer_rcpt_list smarthost | grep '@remote.example$' | sort -u | wc -l)" 10000 "distinct list recipients"
expect_eq "$(log_count 'status=(deferred|bounced)')" 0 "deferred or bounced log lines"
