# TLS sessions are resumed per destination: the session a server granted on one connection
# (TLS 1.3 tickets) is offered again on the next connection to that server, so the second
# handshake is abbreviated; a session is never offered to another server. With idlemax 0
# every delivery is its own connection. The MX of p.example is a private Postfix
# (tlsmgr issues its tickets), the MX of q.example is peer.py, which reports from its side
# whether each session was resumed.
. "$SCN/lib.sh"

tls_cert mx mx.example
zone_mx p "10 mx.p"
zone_a mx.p 127.0.0.20
zone_mx q "10 mx.q"
zone_a mx.q 127.0.0.22
dns_start
sink_start after 127.0.0.21
postfix_start mx 127.0.0.20 'relay_domains = p.example' 'relayhost = [127.0.0.21]:25' \
    'smtpd_tls_security_level = may' "smtpd_tls_cert_file = $T/tls/mx.pem" \
    "smtpd_tls_key_file = $T/tls/mx.key" 'smtpd_tls_loglevel = 1'
peer_start q 127.0.0.22 --tls-cert "$T/tls/mx.pem" --tls-key "$T/tls/mx.key"
conf_set deliver.idlemax '"0"'
sluice_start

for i in 1 2 3; do
    inject_swaks sender@src.example "u$i@p.example,u$i@q.example"
    wait_until "[ \"\$(sink_rcpts after)\" -ge $i ] && [ \"\$(peer_stat q messages)\" -ge $i ]" 30 \
        "message $i at both MX hosts"
    wait_until "[ \"\$(peer_stat q conns)\" -ge $i ]" 10 "connection $i to mx.q closed"
done
for i in 1 2 3; do
    log_has "to=<u$i@p\\.example>, relay=mx\\.p\\.example\\[127\\.0\\.0\\.20\\]:25, tls=TLSv1\\.3/.*status=sent" ||
        fail "no log line: u$i@p.example sent over TLS 1.3"
done
# sluice's view: the first handshake with each server is full, the later ones resume
for h in 'mx\.p\.example\[127\.0\.0\.20\]' 'mx\.q\.example\[127\.0\.0\.22\]'; do
    expect_eq "$(log_count "smtpc $h:25: TLS TLSv1\\.3 .*peer untrusted")" 3 "TLS sessions with $h"
    expect_eq "$(log_count "smtpc $h:25: TLS TLSv1\\.3 .*, session reused")" 2 "resumed sessions with $h"
done
# peer.py's view (q): not resumed, then resumed twice
got=$(peer_conn_json q | python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["tls"]["resumed"]) for l in sys.stdin))')
expect_eq "$got" "False True True" "sessions resumed as mx.q saw them"
# Postfix's view (p): three TLS connections from sluice
expect_eq "$(grep -Ec 'TLS connection established from [^ ]*\[127\.0\.0\.1\]' "$(postfix_log mx)")" 3 \
    "TLS connections Postfix logged"
