# Suppression list: a recipient refused with a hard bounce (550 5.1.1 to RCPT) is recorded
# with the time and the reply; the next message to it fails at once, without a connection
# to its MX, with a clear log line (status=bounced, dsn=5.1.1, "suppressed until") and a
# DSN to the sender. A 5xx outside suppression.codes (5.7.1) and a 4xx are not recorded.
# `sluice suppress list|export|add|remove` manage the list while the daemon runs: after
# remove the address is tried again; after add it fails at once.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
dns_start
sink_start bounces 127.0.0.30
peer_start mx 127.0.0.20 --reject-rcpt '^gone=550 5.1.1 no such user' \
    --reject-rcpt '^policy=550 5.7.1 not allowed' --tempfail-rcpt '^busy=451 4.3.0 try later'
conf_set suppression '{ enabled = true; duration = "30d"; }'
conf_set deliver.idlemax '"0"'
sluice_start
sup() { "$SLUICE" suppress -c "$CONF" "$@"; }
# Times the MX saw RCPT TO for a recipient (connections are written when they close).
mx_rcpts() { grep -o "\"$1@d.example\"" "$T/peers/mx.jsonl" 2>/dev/null | wc -l; }

inject_swaks sender@src.example gone@d.example,ok@d.example,policy@d.example,busy@d.example
wait_until "log_has 'suppress: <gone@d.example> recorded \\(5\\.1\\.1\\)'" 30 "gone@ recorded"
wait_until '[ "$(sink_msgs bounces)" -ge 1 ]' 30 "the first bounce"
wait_until 'log_has "to=<policy@d.example>.*status=bounced"' 30 "policy@ bounced"
sup list >"$T/list" || fail "suppress list: $(cat "$T/list")"
grep -q '^gone@d.example  .*until .*550 5.1.1 no such user' "$T/list" || fail "list: $(cat "$T/list")"
grep -q 'policy@\|busy@\|ok@' "$T/list" && fail "only gone@ is suppressed: $(cat "$T/list")"
wait_until '[ "$(mx_rcpts gone)" = 1 ]' 20 "the MX saw gone@ once"

# The next message to gone@: failed at once, no RCPT at the MX, a DSN.
inject_swaks sender@src.example gone@d.example --header "Subject: second"
wait_until "log_has 'suppress: <gone@d.example> is suppressed until .*hard bounce .*550 5.1.1 no such user.*failed without a connection'" \
    20 "the suppression log line"
wait_until 'log_has "to=<gone@d.example>, relay=none, .*dsn=5\.1\.1, status=bounced \(5\.1\.1 <gone@d.example> suppressed until"' \
    20 "the bounced line"
wait_until '[ "$(sink_msgs bounces)" -ge 2 ]' 30 "the DSN of the suppressed recipient"
f=$(grep -l 'suppressed until' "$T/sinks/bounces"/t.*) || fail "no DSN names the suppression"
python3 "$SCN/dsn_check.py" "$f" failed gone@d.example 'Status=^5\.1\.1$' ||
    fail "the DSN is not a valid report: $(cat "$f")"
expect_eq "$(mx_rcpts gone)" 1 "RCPTs for gone@ at the MX after the suppressed message"

# export: tab-separated, active.
sup export >"$T/export"
awk -F'\t' '$1 == "gone@d.example" && $4 == 1 && $3 - $2 == 30 * 86400 { ok = 1 } END { exit !ok }' \
    "$T/export" || fail "export: $(cat "$T/export")"

# remove: the address is tried again (and bounces again, and is recorded again).
sup remove gone@d.example || fail "suppress remove"
sup remove gone@d.example 2>/dev/null && fail "a second remove succeeded"
inject_swaks sender@src.example gone@d.example --header "Subject: third"
wait_until '[ "$(mx_rcpts gone)" = 2 ]' 30 "gone@ tried again at the MX"
wait_until "[ \$(log_count 'suppress: <gone@d.example> recorded') = 2 ]" 20 "gone@ recorded again"

# add by hand: fails at once.
sup add 'Manual@D.example' "complaint" || fail "suppress add"
sup list | grep -q '^manual@d.example  .*complaint' || fail "added entry: $(sup list)"
sup add 'not an address' 2>/dev/null; expect_eq $? 65 "exit status of a bad address"
inject_swaks sender@src.example manual@d.example
wait_until 'log_has "to=<manual@d.example>, relay=none, .*status=bounced \(5\.1\.1 <manual@d.example> suppressed"' \
    20 "the hand-added address failed"
expect_eq "$(mx_rcpts manual)" 0 "RCPTs for manual@ at the MX"
sluice_stop
