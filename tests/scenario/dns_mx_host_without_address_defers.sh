# MX records that point to hosts without any address: one MX host exists but has no A/AAAA
# (NODATA), the other does not exist (NXDOMAIN). Per src/dns/dns.h ("when no host has an
# address the status is DNS_TEMPFAIL with why 'no address for any MX host'") both recipients
# are deferred, never bounced, with that reason in the log and in mailq.
. "$SCN/lib.sh"

zone_mx noaddr "10 hostnoaddr"
zone_rr "$(fqdn hostnoaddr) 60 IN TXT \"no address here\""
zone_mx nxhost "10 nosuchhost"
dns_start
conf_set deliver.interval '"1m"'
sluice_start

inject_swaks sender@src.example u1@noaddr.example,u2@nxhost.example
for r in u1@noaddr.example u2@nxhost.example; do
    wait_until "[ \"\$(mailq_field $r 5)\" = deferred ]" 40 "mailq: $r deferred"
    last=$(mailq_field $r 8)
    echo "$last" | grep -qi 'no address' || fail "mailq LAST of $r: got '$last', want 'no address for any MX host'"
    log_has "to=<${r/./\\.}>.*status=deferred.*no address" || fail "no log line: to=<$r> ... status=deferred (no address ...)"
    expect_eq "$(log_count "to=<${r/./\\.}>.*status=bounced")" 0 "bounces of $r"
    note "$r: $last"
done
