# DNS block lists (docs/policy.md) served by the test DNS (nsd): the lists naming a client
# add their weights; at smtpd.dnsbl_threshold its RCPTs get 554 5.7.1 "Service unavailable;
# Client host [IP] blocked using LIST" and the NOQUEUE log line that fail2ban's postfix
# filter matches (fail2ban-regex). A list that never answers (counted 0 after
# dnsbl_timeout), one answering garbage (outside 127/8: ignored) and one whose answer is
# outside the entry's pattern never refuse mail.
. "$SCN/lib.sh"

zone_rr "1.0.0.127.bl.example." 60 IN A 127.0.0.2
zone_rr "1.0.0.127.small.example." 60 IN A 127.0.0.4
zone_rr "50.0.0.127.small.example." 60 IN A 127.0.0.4
zone_rr "50.0.0.127.junk.example." 60 IN A 10.1.2.3
zone_rr "50.0.0.127.pattern.example." 60 IN A 127.0.0.99
dns_drop slow.example.
dns_start
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.local_domains '[ "local.test" ]'
conf_set smtpd.dnsbl '[ "bl.example=127.0.0.[2..11]*2", "small.example", "slow.example*5", "junk.example*5", "pattern.example=127.0.0.[2;4..8]*5" ]'
conf_set smtpd.dnsbl_threshold 3
conf_set smtpd.dnsbl_timeout '"1s"'
sluice_start

rcpt() { # rcpt IP: the RCPT reply for a client at IP
    swaks --server 127.0.0.1:2525 --local-interface "$1" --helo client.test --from a@src.test \
        --to u@local.test --quit-after RCPT >"$T/swaks.out" 2>&1
    sed -n 's/^<[-~*]* *\(.*\)/\1/p' "$T/swaks.out" | tail -2 | head -1
}
expect_eq "$(rcpt 127.0.0.1)" \
    "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.example, small.example" \
    "bl (2) + small (1) reach 3"
log_has 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 Service unavailable; Client host \[127\.0\.0\.1\] blocked using bl\.example, small\.example; from=<a@src\.test> to=<u@local\.test> proto=ESMTP helo=<client\.test> rule=<dnsbl bl\.example, small\.example score 3>' ||
    fail "no NOQUEUE line: $(grep NOQUEUE "$SLUICE_LOG")"
expect_eq "$(rcpt 127.0.0.50)" "250 2.1.5 Ok" "small (1); slow timed out, junk garbage, pattern not matched"
log_has 'dnsbl: slow\.example: no answer for \[127\.0\.0\.50\] within dnsbl_timeout' || fail "no timeout line"
log_has 'dnsbl: 50\.0\.0\.127\.junk\.example answered 10\.1\.2\.3, not a block list code: ignored' ||
    fail "no garbage line"
note "fail2ban's postfix filter (daemon name sluice) matches the refusal"
out=$(fail2ban-regex "$SLUICE_LOG" "postfix[_daemon=sluice]" 2>&1)
echo "$out" | grep -q 'Failregex: 1 total' || fail "fail2ban-regex: $out"
sluice_stop
