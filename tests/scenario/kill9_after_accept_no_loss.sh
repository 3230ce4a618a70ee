# Nothing acknowledged is lost: 50 messages accepted (250) while their MX is down, sluice
# killed with SIGKILL right after the last 250, the MX started, sluice restarted: all 50
# arrive and the queue ends empty.
. "$SCN/lib.sh"

zone_mx k9 "10 mx"
zone_a mx 127.0.0.30
dns_start
sluice_start

inject_many --messages 50 --domains k9.example --sessions 5 --per-conn 10
sluice_kill9
note "killed after $(grep -c . "$T/inject.out") injector lines: $(cat "$T/inject.out")"
expect_eq "$(mailq_count)" 50 "queued recipients after SIGKILL"
sink_start mx 127.0.0.30
sluice_start
wait_until '[ "$(sink_rcpt_list mx | sort -u | wc -l)" -ge 50 ]' 60 "50 distinct recipients at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list mx | sort -u | wc -l)" 50 "distinct recipients at the MX"
