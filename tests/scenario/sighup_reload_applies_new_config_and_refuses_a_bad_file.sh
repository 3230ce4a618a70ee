# SIGHUP reloads the whole configuration. A file with an error is refused with FILE:LINE in
# the log, the running configuration stays and the daemon goes on. A good file applies to
# new work: a new relay takes a domain's mail (routing and the route cache), a smtpd policy
# value (relay_domains) changes what new RCPTs may do, the log moves to a file; a session
# in its transaction across the reload is not dropped and its message is delivered; what
# cannot change live (smtpd.listen) is reported and keeps its running value. SIGHUP never
# stops the daemon.
. "$SCN/lib.sh"

zone_mx a "10 mx"
zone_a mx 127.0.0.11
dns_start
sink_start mx 127.0.0.11
sink_start relay 127.0.0.21
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
sluice_start
inject_swaks s@src.example u1@a.example
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 20 "u1 at a.example's MX"

note "a session in its transaction across the reloads"
python3 - "$SMTP_PORT" "$T/held" >"$T/held.out" 2>&1 <<'PY' &
import os, smtplib, sys, time
port, base = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="c.example", timeout=60)
s.ehlo()
print("mail", s.mail("held@src.example"), flush=True)
print("rcpt", s.rcpt("held@a.example"), flush=True)
open(base + ".ready", "w").close()
while not os.path.exists(base + ".go"):   # the test says when
    time.sleep(0.05)
code, text = s.data("Subject: held across SIGHUP\r\n\r\nbody\r\n")
print("data", code, text.decode(), flush=True)
s.quit()
PY
SCN_PIDS+=($!)
held=$!
wait_until '[ -e "$T/held.ready" ]' 15 "the held session in its transaction"

note "a bad file is refused with FILE:LINE; the running configuration stays"
cp "$CONF" "$T/good.conf"
printf 'deliver = {\n  maxrecips = 50;\n  bogus_key = 1;\n};\n' >>"$CONF"
kill -HUP "$SLUICE_PID"
wait_until "log_has 'warning: reload refused, the running configuration stays: $CONF:[0-9]+: '" 10 \
    "the refusal with FILE:LINE"
sluice_alive || fail "SIGHUP with a bad file stopped the daemon"
inject_swaks s@src.example u2@a.example
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 20 "u2 still at the MX (old routing)"

note "a good file: new relay, relay_domains, log file, listen kept"
conf_set deliver.relays '( { address = "[127.0.0.21]:25"; destdomains = [ "a.example" ]; } )'
conf_set smtpd.relay_domains '[ "open.example" ]'
conf_set smtpd.listen "[ \"127.0.0.1:$SMTP_PORT\", \"127.0.0.1:2599\" ]"
conf_set log.target '"file"'
conf_set log.path "\"$T/spool/mail.log\""
sluice_conf
kill -HUP "$SLUICE_PID"
wait_until "grep -q 'reloaded $CONF' '$T/spool/mail.log' 2>/dev/null" 10 "the reload (logged in the new log file)"
log_has 'warning: reload: smtpd.listen changed: takes effect at the next start' ||
    fail "no line about smtpd.listen"
port_open 127.0.0.1 2599 && fail "a listener was added live"
sluice_alive || fail "SIGHUP stopped the daemon"
touch "$T/held.go"
wait "$held" || fail "the held session failed: $(cat "$T/held.out")"
grep -q '^data 250 ' "$T/held.out" || fail "the held session's DATA: $(cat "$T/held.out")"
inject_swaks s@src.example u3@a.example
wait_until '[ "$(sink_rcpts relay)" -ge 2 ]' 20 "held@ and u3@a.example at the new relay"
expect_eq "$(sink_rcpts mx)" 2 "recipients at the MX after the reload"

note "the log goes to the file now"
wait_until "grep -q 'to=<u3@a.example>, relay=\\[127.0.0.21\\]:25, .*status=sent' '$T/spool/mail.log' 2>/dev/null" 10 \
    "u3's delivery line in the new log file"
log_has 'to=<u3@a\.example>' && fail "u3's line went to stderr after the switch"

note "relay_domains applies to new RCPTs from untrusted clients"
swaks --server 127.0.0.1:"$SMTP_PORT" --local-interface 127.0.0.50 -f s@src.example \
    -t x@open.example --quit-after RCPT >"$T/swaks.out" 2>&1 ||
    fail "RCPT to a new relay domain refused: $(cat "$T/swaks.out")"
sluice_stop
exit 0
