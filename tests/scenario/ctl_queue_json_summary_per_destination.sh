# `sluice ctl queue` summarises the queue per destination (ZMailer's mailq -Q): recipients,
# active/held counts, oldest arrival, next attempt, last error, connections and state. Three
# domains: dead.example's MX refuses connections (dead, with the reason), slow.example's MX
# waits 4 s before every reply (one connection busy, recipients active), held.example's
# message is held. The text form has a header and one line per destination; --json one
# object per line.
. "$SCN/lib.sh"

zone_mx dead "10 mxdead"
zone_mx slow "10 mxslow"
zone_mx held "10 mxheld"
zone_a mxdead 127.0.0.21
zone_a mxslow 127.0.0.22
zone_a mxheld 127.0.0.23
dns_start
peer_start mxdead 127.0.0.21 --refuse
peer_start mxslow 127.0.0.22 --delay-ms 4000
peer_start mxheld 127.0.0.23 --tempfail-rcpt '.=451 4.3.0 later' --tempfail-times 1
conf_set deliver.interval '"1h"'
sluice_start

inject_swaks sender@src.example u@held.example
wait_until 'log_has "to=<u@held\.example>.*status=deferred"' 20 "held.example deferred"
ctl_ok hold "$(qid_of u@held\\.example)"
inject_swaks sender@src.example u1@dead.example,u2@dead.example
inject_swaks sender@src.example u@slow.example
wait_until 'log_has "to=<u1@dead\.example>.*status=deferred"' 20 "dead.example deferred"
wait_until '[ "$(peer_stat mxslow conns)" -ge 0 ] && ctl conns && grep -q busy "$T/ctl.out"' 20 \
    "a busy connection to slow.example"

ctl_ok queue --json
cp "$T/ctl.out" "$T/queue.json"
python3 - "$T/queue.json" <<'PY' || fail "queue --json: $(cat "$T/queue.json")"
import json, sys
rows = {r["destination"]: r for r in map(json.loads, open(sys.argv[1]))}
d, s, h = rows["dead.example"], rows["slow.example"], rows["held.example"]
assert d["state"] == "dead" and d["recipients"] == 2 and "refused" in d["last_error"].lower(), d
assert d["next_attempt"] and d["oldest"] and d["connections"] == 0, d
assert s["state"] == "active" and s["active"] == 1 and s["connections"] == 1, s
assert h["held"] == 1 and h["recipients"] == 1 and "451" in h["last_error"], h
for r in rows.values():
    assert set(r) >= {"destination", "recipients", "oldest", "next_attempt", "last_error",
                      "connections", "state"}, r
PY
ctl_ok queue
head -1 "$T/ctl.out" | grep -q '^DESTINATION' || fail "no header: $(cat "$T/ctl.out")"
grep -Eq '^dead\.example +2 .* dead ' "$T/ctl.out" || fail "text row: $(cat "$T/ctl.out")"
ctl_ok qshape --json
grep -q '"domain":"TOTAL","total":4' "$T/ctl.out" || fail "qshape total: $(cat "$T/ctl.out")"
ctl_ok stats --json
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["gauges"]["messages_held"] == 1 and "delivered" in s["counters"], s' "$T/ctl.out" ||
    fail "stats: $(cat "$T/ctl.out")"
