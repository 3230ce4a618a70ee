# deliver.delay_start: recipients the daemon finds in the queue when it starts (here a
# message stored by `sluice submit` while no daemon ran) wait delay_start before they are
# tried; newly accepted mail is not delayed. With delay_start 1h, mail accepted after the
# start is delivered while the recovered message stays queued, never attempted; a queue run
# (`sluice submit -q`) then delivers it. One connection at most to the MX, so without the
# delay the recovered message (due first) would reach the MX before the new one.
. "$SCN/lib.sh"

zone_mx later "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
conf_set deliver.delay_start '"1h"'
conf_set deliver.maxserverconnections 1
sluice_conf

note "stored while no daemon runs"
printf 'Subject: recovered\n\nstored before the start\n' | submit sender@src.example old@later.example
sluice_start
wait_until 'log_has "recovery: 1 messages scheduled"' 20 "recovery of the stored message"

inject_swaks sender@src.example new@later.example
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 30 "the new message at the MX"
expect_eq "$(peer_rcpt_list mx)" "new@later.example" "recipients at the MX after the new message"
expect_eq "$(log_count 'to=<old@later\.example>')" 0 "delivery log lines of the recovered recipient"
expect_eq "$(mailq_field old@later.example 5)" pending "state of the recovered recipient"
expect_eq "$(mailq_field old@later.example 6)" 0 "attempts of the recovered recipient"

note "queue run"
"$SLUICE" submit -c "$CONF" -q >"$T/q.out" 2>&1 || fail "submit -q: $(cat "$T/q.out")"
wait_until '[ "$(peer_stat mx rcpts)" -ge 2 ]' 30 "the recovered message at the MX after -q"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list mx | tr '\n' ' ')" "new@later.example old@later.example " \
    "recipients at the MX, in order"
