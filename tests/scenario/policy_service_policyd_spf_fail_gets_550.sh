# Policy delegation (docs/policy.md) with Debian's real postfix-policyd-spf-python, run per
# connection as Postfix's spawn(8) would (spawn.py): a sender whose domain's SPF record
# (served by the test DNS) does not allow the client gets policyd-spf's 550 5.7.23; a
# sender whose SPF record allows it is accepted.
. "$SCN/lib.sh"

zone_rr "$(fqdn fail)" 60 IN TXT '"v=spf1 ip4:192.0.2.1 -all"'
zone_rr "$(fqdn pass)" 60 IN TXT '"v=spf1 ip4:127.0.0.0/8 -all"'
dns_start
# policyd-spf resolves through /etc/resolv.conf: in this test's mount namespace only, that
# is the test DNS.
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || fail "cannot bind-mount resolv.conf"
cat >"$T/spf.conf" <<'C'
debugLevel = 1
TestOnly = 1
HELO_reject = False
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 192.0.2.255/32
C
bg_start spawn python3 "$SCN/spawn.py" --listen 127.0.0.1:10024 --ready "$T/spawn.ready" -- \
    /usr/bin/policyd-spf "$T/spf.conf"
wait_until '[ -e "$T/spawn.ready" ]' 10 "spawn.py on 127.0.0.1:10024"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.local_domains '[ "local.test" ]'
conf_set smtpd.policy_services '[ "inet:127.0.0.1:10024 timeout=20s" ]'
sluice_start

rcpt_reply() { # rcpt_reply FROM: the RCPT reply
    printf 'EHLO client.test\r\nMAIL FROM:<%s>\r\nRCPT TO:<u@local.test>\r\nQUIT\r\n' "$1" >"$T/in"
    smtp_talk "$T/in" | tail -2 | head -1
}
got=$(rcpt_reply a@fail.example)
case $got in
"550 5.7.23 <u@local.test>: Recipient address rejected: Message rejected due to: SPF fail"*) ;;
*) fail "SPF fail: got '$got', want 550 5.7.23 ... SPF fail" ;;
esac
log_has 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.7\.23 .*SPF fail.*from=<a@fail\.example> to=<u@local\.test> proto=ESMTP helo=<client\.test> rule=<policy inet:127\.0\.0\.1:10024 REJECT>' ||
    fail "no NOQUEUE line: $(grep NOQUEUE "$SLUICE_LOG")"
expect_eq "$(rcpt_reply a@pass.example)" "250 2.1.5 Ok" "SPF pass"
sluice_stop
