# A bulk delete is one queue transaction: killing the daemon (SIGKILL) while it runs loses no
# message it was not asked to delete, and deletes all or none of the selected ones. 400
# messages wait deferred for an hour (the MX answers 451): 200 to del.example, 200 to
# keep.example. `ctl delete --dest del.example` is sent and the daemon is killed at once
# (a second round kills it right after the reply). After each restart keep.example has all
# 200 recipients and del.example 0 or 200.
. "$SCN/lib.sh"

zone_mx del "10 mx"
zone_mx keep "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --tempfail-rcpt '.=451 4.3.0 later'
conf_set deliver.interval '"1h"'
conf_set deliver.delay_start '"1h"'
sluice_start
inject_many --messages 400 --domains del.example,keep.example --sessions 4
wait_until '[ "$(log_count "status=deferred")" -ge 400 ]' 60 "400 deferrals"

# counts: "KEEP DEL" recipients from `ctl queue --json`.
counts() {
    ctl_ok queue --json
    python3 -c 'import json,sys
rows = {r["destination"]: r["recipients"] for r in map(json.loads, open(sys.argv[1]))}
print(rows.get("keep.example", 0), rows.get("del.example", 0))' "$T/ctl.out"
}
expect_eq "$(counts)" "200 200" "recipients before"

note "round 1: kill right after sending the request"
"$SLUICE" ctl -c "$CONF" delete --dest del.example >"$T/del1.out" 2>&1 &
wait_until 'log_has "ctl: uid 0 pid [0-9]+: delete|removed \(deleted by administrator\)" || ! kill -0 $! 2>/dev/null' 10 "the delete starting"
sluice_kill9
wait $! 2>/dev/null
sluice_start
got=$(counts)
note "after round 1: $got"
case "$got" in "200 200" | "200 0") ;; *) fail "round 1: keep/del recipients $got" ;; esac

note "round 2: kill right after the reply"
ctl_ok delete --dest del.example
sluice_kill9
sluice_start
expect_eq "$(counts)" "200 0" "recipients after a confirmed delete and a SIGKILL"
