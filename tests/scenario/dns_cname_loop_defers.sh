# CNAME loops: a recipient domain whose name is a CNAME loop (cloop -> cloop2 -> cloop), and
# a domain whose only MX host is a CNAME loop (mxl -> mxl2 -> mxl). Neither lookup can
# succeed, but a loop is a broken zone, not proof that the domain does not exist: both are
# deferred (never bounced, never delivered) with a DNS reason, and the daemon goes on
# delivering other mail.
. "$SCN/lib.sh"

zone_rr "$(fqdn cloop) 60 IN CNAME $(fqdn cloop2)"
zone_rr "$(fqdn cloop2) 60 IN CNAME $(fqdn cloop)"
zone_mx cmx "10 mxl"
zone_rr "$(fqdn mxl) 60 IN CNAME $(fqdn mxl2)"
zone_rr "$(fqdn mxl2) 60 IN CNAME $(fqdn mxl)"
zone_mx ok "10 okmx"
zone_a okmx 127.0.0.41
dns_start
sink_start ok 127.0.0.41
conf_set deliver.interval '"1m"'
sluice_start

note "resolver view of cloop MX: $(dns_query cloop.example MX | tr '\n' ' ')"
inject_swaks sender@src.example u1@cloop.example,u2@cmx.example,u3@ok.example
for r in u1@cloop.example u2@cmx.example; do
    wait_until "[ \"\$(mailq_field $r 5)\" = deferred ]" 40 "mailq: $r deferred"
    last=$(mailq_field $r 8)
    echo "$last" | grep -Eqi 'dns|lookup|servfail|cname|loop|address|mx|resolv' ||
        fail "mailq LAST of $r: got '$last', want a DNS reason"
    log_has "to=<${r/./\\.}>.*status=deferred" || fail "no log line: to=<$r> ... status=deferred"
    expect_eq "$(log_count "to=<${r/./\\.}>.*status=(bounced|sent)")" 0 "bounced/sent lines of $r"
    note "$r: $last"
done
wait_until '[ "$(sink_rcpts ok)" -ge 1 ]' 20 "u3@ok.example at its sink"
