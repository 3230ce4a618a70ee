# DELIVERBY (RFC 2852, seed "PARAM deliverby 60"): advertised with the minimum by-time;
# BY=n;R below it is refused, BY with N mode (even negative) and R above it are accepted.
. "$SCN/lib.sh"

conf_set smtpd.deliverby '"120s"'
sluice_start
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example> BY=60;R\r\nMAIL FROM:<a@src.example> BY=-10;N\r\nRSET\r\nMAIL FROM:<a@src.example> BY=600;RT\r\nRSET\r\nMAIL FROM:<a@src.example> BY=x;R\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250-DELIVERBY 120$' "DELIVERBY advertised with its minimum"
expect_reply '^501 5\.5\.4 BY time below the minimum of 120 seconds' "R mode below the minimum"
expect_eq "$(grep -c '^250 2\.1\.0' "$T/replies")" 2 "accepted BY parameters"
expect_reply '^501 5\.5\.4 Bad BY parameter' "malformed BY"
sluice_stop
conf_set smtpd.deliverby 0
sluice_conf
sluice_start
smtp_talk "$T/in" >"$T/replies"
grep -q '^250-DELIVERBY' "$T/replies" && fail "DELIVERBY advertised with deliverby 0"
expect_reply '^555 5\.5\.4 Unsupported option: BY' "BY without DELIVERBY"
