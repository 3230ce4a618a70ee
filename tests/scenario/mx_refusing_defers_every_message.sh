# The only MX refuses connections: every message for the domain is deferred promptly
# (log status=deferred, mailq deferred with the connect error), also when several messages
# are queued for it at once.
. "$SCN/lib.sh"

zone_mx down "10 mx"
zone_a mx 127.0.0.30
dns_start
sluice_start

inject_many --messages 5 --domains down.example --sessions 1
wait_until '[ "$(log_count "to=<u[0-9]-0@down\.example>.*status=deferred")" -ge 5 ]' 15 \
    "5 deferrals (log status=deferred) while the MX refuses"
expect_eq "$(mailq_count deferred)" 5 "deferred recipients in mailq"
last=$(mailq_field u0-0@down.example 8)
echo "$last" | grep -qi 'refused' || fail "mailq LAST of u0-0@down.example: got '$last', want the connect error"
expect_eq "$(log_count 'to=<u[0-9]-0@down\.example>.*dsn=4\.4\.1, status=deferred')" \
    "$(log_count 'to=<u[0-9]-0@down\.example>.*status=deferred')" "deferrals with dsn=4.4.1 (connect refused)"
