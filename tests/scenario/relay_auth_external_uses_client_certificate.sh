# auth.override = "external" (seed 000 `<auth enabled="Y" override="external"/>`): sluice
# authenticates with SASL EXTERNAL (RFC 4422 App. A), its identity being the client
# certificate of the relay's ssl block (cert_file, key_file) presented in the handshake.
# Two smarthosts (peer.py) ask for a client certificate from the test CA and offer AUTH
# PLAIN EXTERNAL under TLS only: with initrsp (the default) the AUTH line carries "=" (no
# authorization identity); with initrsp = false and a username, the 334 gets the username
# as authorization identity. A third one offers no EXTERNAL: deferred, 4.7.0.
. "$SCN/lib.sh"

tls_cert relay relay.example
tls_cert client sluice.example
dns_start
for i in 20 21 22; do
    mechs=PLAIN,EXTERNAL
    [ $i = 22 ] && mechs=PLAIN
    peer_start "p$i" "127.0.0.$i" --tls-cert "$T/tls/relay.pem" --tls-key "$T/tls/relay.key" \
        --tls-client-ca "$T/tls/ca.pem" --auth-mechs $mechs --auth-tls-only --auth-required
done
ssl="ca_file = \"$T/tls/ca.pem\"; verify_name = \"relay.example\";
     cert_file = \"$T/tls/client.pem\"; key_file = \"$T/tls/client.key\";"
conf_set deliver.relays "(
  { address = \"[127.0.0.20]:25\"; destdomains = [ \"a.example\" ]; ssl = { $ssl };
    auth = { enabled = true; override = \"external\"; }; },
  { address = \"[127.0.0.21]:25\"; destdomains = [ \"b.example\" ]; ssl = { $ssl };
    auth = { override = \"external\"; initrsp = false; username = \"sluice.example\"; }; },
  { address = \"[127.0.0.22]:25\"; destdomains = [ \"c.example\" ]; ssl = { $ssl };
    auth = { override = \"external\"; }; } )"
conf_set deliver.client.transcript '"%DIRLOG%transcripts/client-%DT%.log"'
conf_set deliver.interval '"1m"'
sluice_start

inject_swaks sender@src.example u@a.example,u@b.example,u@c.example
wait_until '[ "$(peer_stat p20 messages)" -ge 1 ] && [ "$(peer_stat p21 messages)" -ge 1 ]' 30 \
    "u@a.example and u@b.example delivered"
wait_until '[ "$(mailq_field u@c.example 5)" = deferred ]' 30 "mailq: u@c.example deferred"
last=$(mailq_field u@c.example 8)
expect_eq "$last" "4.7.0 SASL authentication to [127.0.0.22]:25 impossible: it offers no AUTH EXTERNAL" \
    "mailq LAST of u@c.example"
for i in 20 21; do
    wait_until "[ \"\$(peer_stat p$i conns)\" -ge 1 ]" 10 "the connection to p$i closed"
    got=$(peer_conn_json "p$i" | python3 -c 'import json, sys
for r in map(json.loads, sys.stdin):
    print(r["tls"]["client_cn"], " ".join("%s:%s:%s:%s" % (a["mech"], a["user"], a["initrsp"], a["ok"])
                                          for a in r["auth"]))')
    want="sluice.example EXTERNAL:sluice.example:True:True"
    [ $i = 21 ] && want="sluice.example EXTERNAL:sluice.example:False:True"
    expect_eq "$got" "$want" "client certificate and AUTH at p$i"
done
log_has 'to=<u@a\.example>, relay=\[127\.0\.0\.20\]:25, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=verified, .*status=sent' ||
    fail "no log line: u@a.example sent"
sluice_stop
TR=$(cat "$T"/spool/log/transcripts/client-*.log)
echo "$TR" | grep -q '> AUTH EXTERNAL =$' || fail "transcript: no 'AUTH EXTERNAL ='"
echo "$TR" | grep -q '> AUTH EXTERNAL$' || fail "transcript: no 'AUTH EXTERNAL' without initial response"
