# docs/dsn.md "Double bounces": a report (null sender, MSG_F_BOUNCE, NOTIFY=NEVER) that the
# sender's MX refuses with 5xx is reported once to deliver.double_bounce: one notice from
# the null sender naming the failed report's recipient and the refusal arrives there, and
# nothing more is sent (not to the null sender, no second notice, no loop).
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx src "10 bounces"
zone_a bounces 127.0.0.30
zone_mx pm "10 pmx"
zone_a pmx 127.0.0.40
dns_start
peer_start mx 127.0.0.20 --reject-rcpt '^bad@=550 5.1.1 no such user'
peer_start bounces 127.0.0.30 --reject-rcpt '^sender@=550 5.1.1 sender unknown here'
sink_start pm 127.0.0.40
conf_set deliver.double_bounce '"postmaster@pm.example"'
sluice_start

inject_swaks sender@src.example bad@d.example
wait_until '[ "$(sink_msgs pm)" -ge 1 ]' 30 "the double-bounce notice at postmaster@pm.example"
f=$(find "$T/sinks/pm" -type f -name 't.*' | head -n 1)
expect_eq "$(sink_rcpt_list pm)" "postmaster@pm.example" "notice recipient"
grep -qi '^X-Mail-Args: <>' "$f" || fail "notice envelope sender is not <>: $(grep -i '^X-Mail-Args' "$f")"
python3 "$SCN/dsn_check.py" "$f" failed sender@src.example \
    'Status=^5\.1\.1$' 'Diagnostic-Code=^smtp; 550 5\.1\.1 sender unknown here' ||
    fail "the notice is not a valid report on the failed bounce: $(cat "$f")"
wait_until queue_empty 20 "empty queue after the notice"
expect_eq "$(sink_msgs pm)" 1 "notices at postmaster"
expect_eq "$(log_count 'to=<sender@src\.example>, relay=')" 1 "attempts to deliver the bounce"
expect_eq "$(log_count 'to=<postmaster@pm\.example>, relay=.*status=sent')" 1 "notice deliveries"
expect_eq "$(log_count 'sender delivery status notification')" 2 "reports queued (bounce, notice)"
expect_eq "$(log_count 'undeliverable report dropped')" 0 "drops"
