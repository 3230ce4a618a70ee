# Hostile clients on the SMTP server: 2,000 concurrent connections that send nothing (8 per
# source address, under smtpd.max_connections_per_ip, smtpd.max_connections raised to 2,500), a
# client that sends 64 MB of pipelined commands and never reads a reply, command lines over
# 1000 bytes, bare LF and NUL bytes, commands out of sequence, 1001 recipients, messages over
# SIZE, an SMTP smuggling attempt ("\n.\n" inside DATA), 60 bad commands in a row. Each gets
# the right reply (hostile.py checks), and meanwhile a well-behaved client's 300 messages
# are all accepted and all delivered; the daemon's peak RSS (VmHWM) stays under
# HOSTILE_RSS_MAX_KB (default 262144 = 256 MB) and it exits cleanly afterwards.
# HOSTILE_IDLE (default 2000) sets the number of idle connections.
. "$SCN/lib.sh"

IDLE=${HOSTILE_IDLE:-2000}
RSS_MAX=${HOSTILE_RSS_MAX_KB:-262144}
# Both sluice and hostile.py need IDLE descriptors and some; raise the soft limit to the hard.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || fail "cannot raise the open files limit"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((IDLE + 500)) ] ||
    fail "open files limit $(ulimit -n) too low for $IDLE idle connections"
zone_mx ok "10 okmx"
zone_a okmx 127.0.0.41
dns_start
sink_start ok 127.0.0.41
conf_set smtpd.max_message_size 100000
# The server's own connection limits (when the binary has them): room for every idle client
# in all, and the idle clients spread over source addresses, PER_SOURCE each, under the
# per-address limit.
PER_SOURCE=0
if conf_key_known smtpd.max_connections $((IDLE + 500)); then
    conf_set smtpd.max_connections $((IDLE + 500))
    PER_SOURCE=8
fi
conf_key_known smtpd.max_recipients 1000 && conf_set smtpd.max_recipients 1000
sluice_start
note "VmHWM after start: $(sluice_vmhwm) kB"

touch "$T/hold"
bg_start idle python3 "$SCN/hostile.py" idle "$IDLE" --per-source $PER_SOURCE --ready "$T/idle.ready" --hold "$T/hold"
wait_until "[ -e '$T/idle.ready' ]" 60 "$IDLE idle connections open: $(cat "$T/idle.out" 2>/dev/null)"
note "$(cat "$T/idle.out")"
sluice_answers || fail "sluice does not greet a new client while $IDLE connections idle"
bg_start noread python3 "$SCN/hostile.py" noread --ready "$T/noread.ready" --hold "$T/hold"
wait_until "[ -e '$T/noread.ready' ]" 60 "the non-reading client blocked"
note "$(cat "$T/noread.out")"

# The well-behaved client, during the rest of the attack.
python3 "$SCN/inject.py" --server 127.0.0.1:$SMTP_PORT --messages 300 --domains ok.example \
    --sessions 4 --per-conn 25 >"$T/inject.out" 2>&1 &
inj=$!
python3 "$SCN/hostile.py" checks --max-size 100000 --rcpt ok.example >"$T/checks.out" 2>&1
checks_rc=$?
cat "$T/checks.out"
wait $inj || fail "well-behaved injection during the attack: $(tail -5 "$T/inject.out")"
note "well-behaved client: $(cat "$T/inject.out")"

wait_until '[ "$(sink_rcpt_list ok | grep -c "^u[0-9]*-0@ok.example$")" -ge 300 ]' 60 \
    "the 300 well-behaved messages at the sink (got $(sink_rcpt_list ok | grep -c '^u[0-9]*-0@ok.example$'))"
smuggled=$(sink_rcpt_list ok | grep -c '^smuggled@ok.example$')
sluice_answers || fail "sluice does not answer after the attack"
peak=$(sluice_vmhwm)
note "peak RSS (VmHWM) under attack: $peak kB (limit $RSS_MAX kB)"
expect_le "$peak" "$RSS_MAX" "VmHWM in kB"
rm -f "$T/hold"
sluice_stop
expect_eq "$smuggled" 0 "smuggled messages delivered (SMTP smuggling: bare LF dot ended DATA)"
# Last, so that the numbers above are measured even when a reply check failed.
[ $checks_rc -eq 0 ] || fail "hostile checks failed: $(grep '^FAIL' "$T/checks.out" | tr '\n' ';')"
