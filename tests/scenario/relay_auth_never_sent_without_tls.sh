# Credentials never travel in cleartext unless the relay says so: a relay whose auth block
# is enabled gets AUTH only after TLS, or with auth.allow_cleartext = true. Two smarthosts
# (peer.py) offer AUTH PLAIN LOGIN without STARTTLS and refuse MAIL before AUTH: the relay
# without allow_cleartext sends no AUTH at all and its mail is deferred with 4.7.0 (the
# server saw no AUTH, no MAIL); the one with allow_cleartext = true authenticates in
# cleartext and delivers. A relay with ssl.mode = "none" and auth but no allow_cleartext is
# refused by check-config.
. "$SCN/lib.sh"

dns_start
peer_start strict 127.0.0.20 --auth-mechs PLAIN,LOGIN --auth-user 'u1:p1 secret' --auth-required
peer_start legacy 127.0.0.21 --auth-mechs PLAIN,LOGIN --auth-user 'u2:p2 secret' --auth-required
conf_set deliver.relays '(
  { address = "[127.0.0.20]:25"; destdomains = [ "a.example" ];
    auth = { username = "u1"; password = "p1 secret"; }; },
  { address = "[127.0.0.21]:25"; destdomains = [ "b.example" ];
    auth = { username = "u2"; password = "p2 secret"; allow_cleartext = true; }; } )'
conf_set deliver.interval '"1m"'
sluice_start

inject_swaks sender@src.example u@a.example,u@b.example
wait_until '[ "$(peer_stat legacy messages)" -ge 1 ]' 30 "u@b.example at the cleartext smarthost"
wait_until '[ "$(mailq_field u@a.example 5)" = deferred ]' 30 "mailq: u@a.example deferred"
last=$(mailq_field u@a.example 8)
echo "$last" | grep -Eq '^4\.7\.0 SASL authentication to \[127\.0\.0\.20\]:25 needs TLS' ||
    fail "mailq LAST of u@a.example: got '$last', want 4.7.0 SASL authentication ... needs TLS"
log_has 'to=<u@a\.example>, relay=none, tls=none, .*dsn=4\.7\.0, status=deferred' ||
    fail "no log line: u@a.example deferred with 4.7.0"
log_has 'to=<u@b\.example>, relay=\[127\.0\.0\.21\]:25, tls=none, .*status=sent' ||
    fail "no log line: u@b.example sent in cleartext"
wait_until '[ "$(peer_stat strict conns)" -ge 1 ]' 10 "the connection to the strict smarthost closed"
got=$(peer_conn_json strict | python3 -c 'import json, sys
print(" ".join("auth=%d transactions=%d" % (len(r["auth"]), len(r["transactions"]))
               for r in map(json.loads, sys.stdin)))')
expect_eq "$got" "auth=0 transactions=0" "what the smarthost without TLS received"
got=$(grep '"type": "msg"' "$T/peers/legacy.jsonl" | python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["auth_user"]) for l in sys.stdin))')
expect_eq "$got" "u2" "user the cleartext smarthost authenticated"

note "check-config refuses auth over ssl.mode none without allow_cleartext"
cat >"$T/bad.conf" <<EOC
spool = "$T/spool2";
deliver = { relays = ( { address = "r.example"; ssl = { mode = "none"; };
                         auth = { username = "u"; password = "p"; }; } ); };
EOC
out=$("$SLUICE" check-config -c "$T/bad.conf" 2>&1) && fail "check-config accepted auth over ssl.mode none"
echo "$out" | grep -q "would send the password in cleartext: set 'deliver.relays\[0\].auth.allow_cleartext = true'" ||
    fail "check-config: got '$out'"
