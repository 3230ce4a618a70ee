# `sluice ctl pause DOMAIN`: no new transactions, so no new connections, for that domain;
# its mail stays queued and visible (`queue` says paused); other domains flow. `resume`
# delivers it. one.example and two.example have their own MX; one.example is paused before
# anything arrives: two.example's mail is delivered, one.example's MX sees no connection
# while paused; after resume everything is delivered.
. "$SCN/lib.sh"

zone_mx one "10 mx1"
zone_mx two "10 mx2"
zone_a mx1 127.0.0.21
zone_a mx2 127.0.0.22
dns_start
peer_start mx1 127.0.0.21
peer_start mx2 127.0.0.22
sluice_start

ctl_ok pause one.example
grep -q '^one.example paused$' "$T/ctl.out" || fail "pause reply: $(cat "$T/ctl.out")"
ctl_ok pause ONE.example
grep -q 'paused already' "$T/ctl.out" || fail "second pause reply: $(cat "$T/ctl.out")"
for i in 1 2 3; do
    inject_swaks sender@src.example "u$i@one.example,u$i@two.example"
done
wait_until '[ "$(peer_stat mx2 rcpts)" -ge 3 ]' 20 "two.example delivered"
ctl_ok queue --json
python3 - "$T/ctl.out" <<'PY' || fail "queue while paused: $(cat "$T/ctl.out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
one = [r for r in rows if r["destination"] == "one.example"]
assert len(one) == 1 and one[0]["state"] == "paused" and one[0]["recipients"] == 3, rows
assert not [r for r in rows if r["destination"] == "two.example"], rows
PY
expect_eq "$(peer_stat mx1 conns)" 0 "connections to one.example's MX while paused"
ctl_ok show "$(qid_of u1@two.example)" --json
grep -q '"where":"paused"' "$T/ctl.out" || fail "u1@one.example not shown paused: $(cat "$T/ctl.out")"

ctl_ok resume one.example
wait_until '[ "$(peer_stat mx1 rcpts)" -ge 3 ]' 20 "one.example delivered after resume"
wait_until queue_empty 20 "empty queue"
