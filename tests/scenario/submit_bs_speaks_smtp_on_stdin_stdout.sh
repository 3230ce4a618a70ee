# sendmail -bs: an SMTP session on stdin/stdout (no listener involved); the message is
# queued and delivered, dot-unstuffed.
. "$SCN/lib.sh"

zone_mx bs "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
printf 'EHLO me\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u1@bs.example> NOTIFY=NEVER\r\nDATA\r\nSubject: bs\r\n\r\n..dotted\r\n.\r\nQUIT\r\n' |
    "$SLUICE" submit -c "$CONF" -bs >"$T/bs.out" 2>&1 || fail "-bs: $(cat "$T/bs.out")"
grep -q '^220 ' "$T/bs.out" || fail "no greeting: $(cat "$T/bs.out")"
grep -q '^250 2\.0\.0 Ok: queued as' "$T/bs.out" || fail "not queued: $(cat "$T/bs.out")"
grep -q '^221 ' "$T/bs.out" || fail "no 221"
wait_until '[ "$(sink_rcpts mx)" -ge 1 ]' 30 "the message at the MX"
grep -q '^\.dotted' "$T/sinks/mx"/t.* || fail "dot-stuffing not undone"
