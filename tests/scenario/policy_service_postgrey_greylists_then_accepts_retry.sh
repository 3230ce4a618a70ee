# Policy delegation (docs/policy.md) with Debian's real postgrey: the first attempt of a
# new (client, sender, recipient) triplet gets postgrey's DEFER_IF_PERMIT, which sluice
# answers 450 with its status (4.2.0) and text; a retry after postgrey's --delay is accepted, and
# postgrey's PREPEND header (X-Greylist) is on the delivered message.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.2
dns_start
sink_start mx 127.0.0.2
mkdir -p "$T/pg"
bg_start postgrey /usr/sbin/postgrey --inet=127.0.0.1:10023 --dbdir="$T/pg" --delay=1 \
    --user=root --group=root --whitelist-clients=/dev/null --whitelist-recipients=/dev/null \
    --pidfile="$T/pg/pid"
wait_until 'port_open 127.0.0.1 10023' 20 "postgrey on 127.0.0.1:10023"
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "d.example" ]'
conf_set smtpd.policy_services '[ "inet:127.0.0.1:10023" ]'
sluice_start

attempt() {
    swaks --server 127.0.0.1:2525 --helo client.test --from a@src.test --to u@d.example \
        --header "Subject: greylist" >"$T/swaks.out" 2>&1
}
attempt && fail "the first attempt was accepted: $(cat "$T/swaks.out")"
grep -Eq '<[~*]* 450 4\.2\.0 <u@d\.example>: Recipient address rejected: Greylisted' "$T/swaks.out" ||
    fail "first attempt: $(grep '<[~*]* [45]' "$T/swaks.out")"
log_has 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 450 4\.2\.0 <u@d\.example>: Recipient address rejected: Greylisted.*rule=<policy inet:127\.0\.0\.1:10023 DEFER_IF_PERMIT>' ||
    fail "no NOQUEUE line: $(grep NOQUEUE "$SLUICE_LOG")"
note "retrying until postgrey's delay has passed"
wait_until 'attempt' 15 "a retry accepted after postgrey's delay"
# smtp-sink creates its dump file at MAIL and writes the content as it arrives: wait for
# the header itself rather than reading the file as soon as it exists
greylisted() { grep -q '^X-Greylist: delayed [0-9]* seconds by postgrey' "$T"/sinks/mx/t.* 2>/dev/null; }
wait_until greylisted 20 "the delivered message with postgrey's X-Greylist header"
[ "$(sink_msgs mx)" = 1 ] || fail "$(sink_msgs mx) messages at the sink, want 1"
sluice_stop
