# A default relay alone (no destdomains, senders or sendernets) is a smarthost: all mail goes
# there and no DNS is needed (none runs in this test: any lookup would fail).
. "$SCN/lib.sh"

peer_start smarthost 127.0.0.7
conf_set deliver.relays '( { address = "[127.0.0.7]:25"; } )'
sluice_start

inject_swaks sender@src.example u1@one.example,u2@two.example,u3@three.example
inject_many --messages 20 --domains four.example,five.example --sessions 2
inject_source -s 2 -m 10 -f sender@src.example -t same@six.example
wait_until '[ "$(peer_stat smarthost rcpts)" -ge 33 ]' 30 "33 recipients at the smarthost"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list smarthost | sort -u | wc -l)" 24 "distinct recipients at the smarthost"
expect_eq "$(peer_rcpt_list smarthost | grep -c '^same@six.example$')" 10 "deliveries to same@six.example"
expect_eq "$(log_count 'status=(deferred|bounced)')" 0 "deferred or bounced log lines"
