# `sluice submit -q` (sendmail -q) is a queue run: recipients deferred with a retry far in
# the future (interval 1h) are tried at once and delivered once the MX is back.
. "$SCN/lib.sh"

zone_mx later "10 mx"
zone_a mx 127.0.0.42
dns_start
conf_set deliver.interval '"1h"'
sluice_start
inject_swaks sender@src.example u1@later.example
inject_swaks sender@src.example u2@later.example
wait_until '[ "$(mailq_count deferred)" -eq 2 ]' 30 "2 deferred recipients (no MX yet)"
sink_start mx 127.0.0.42
"$SLUICE" submit -c "$CONF" -q >"$T/q.out" 2>&1 || fail "submit -q: $(cat "$T/q.out")"
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 20 "both recipients delivered after -q"
wait_until queue_empty 20 "empty queue"
log_has "flush: 2 recipients for every domain made due" || fail "no flush log line"
exit 0
