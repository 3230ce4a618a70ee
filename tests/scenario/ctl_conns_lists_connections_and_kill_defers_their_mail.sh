# `sluice ctl conns` lists the outbound connections (ZMailer SHOW THREADS): id, state
# (connecting/busy/idle), messages carried, start, destination; `kill ID` aborts one, and
# its recipient in flight is deferred as for any broken session (then delivered on retry).
# The MX waits 3 s before every reply, so the connection is busy when killed.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --delay-ms 3000
sluice_start

inject_swaks sender@src.example a@d.example
wait_until 'ctl conns --json && grep -q "\"state\":\"busy\"" "$T/ctl.out"' 20 "a busy connection"
id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/ctl.out")
grep -q '"destination":"mx:10:mx.example"' "$T/ctl.out" || fail "conns: $(cat "$T/ctl.out")"
ctl_ok kill "$id"
expect_eq "$(cat "$T/ctl.out")" "connection $id killed" "reply to kill"
wait_until 'log_has "to=<a@d\.example>.*status=deferred"' 10 "a@d.example deferred by the kill"
rc=0
ctl kill "$id" || rc=$?
expect_eq "$rc" 1 "kill of a connection that is gone"
wait_until 'log_has "to=<a@d\.example>.*status=sent"' 30 "a@d.example delivered on retry"
