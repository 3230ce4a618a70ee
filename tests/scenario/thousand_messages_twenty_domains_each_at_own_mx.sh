# 1,000 messages to 20 domains, each domain with its own MX host (127.0.1.N, one smtp-sink
# each): every message arrives, each at the sink of its domain's MX, and the queue ends empty.
. "$SCN/lib.sh"

domains=""
for i in $(seq -w 1 20); do
    zone_mx "d$i" "10 mx-d$i"
    zone_a "mx-d$i" "127.0.1.$((10#$i))"
    domains="$domains,d$i.example"
done
dns_start
for i in $(seq -w 1 20); do sink_start "d$i" "127.0.1.$((10#$i))"; done
sluice_start

note "injecting 1000 messages"
inject_many --messages 1000 --domains "${domains#,}" --sessions 4 --per-conn 50
total_rcpts() {
    local n=0 i
    for i in $(seq -w 1 20); do n=$((n + $(sink_rcpts "d$i"))); done
    echo $n
}
wait_until '[ "$(total_rcpts)" -ge 1000 ]' 100 "1000 recipients at the sinks (have $(total_rcpts))"
wait_until queue_empty 20 "empty queue"

note "checking each sink"
for i in $(seq -w 1 20); do
    got=$(sink_rcpt_list "d$i" | sort -u | wc -l)
    expect_eq "$got" 50 "distinct recipients at the MX of d$i.example"
    expect_eq "$(sink_rcpts "d$i")" 50 "recipients (with duplicates) at the MX of d$i.example"
    wrong=$(sink_rcpt_list "d$i" | grep -vc "@d$i\.example$")
    expect_eq "$wrong" 0 "recipients of other domains at the MX of d$i.example"
done
expect_eq "$(log_count 'status=sent')" 1000 "status=sent log lines"
expect_eq "$(mailq)" "" "mailq output"
