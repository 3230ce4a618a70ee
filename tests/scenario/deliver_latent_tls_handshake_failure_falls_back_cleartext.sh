# Opportunistic TLS (anonssl latent) never costs a delivery: when the handshake after
# STARTTLS fails, sluice connects to the same server again in cleartext (as Postfix does)
# and delivers, and it remembers the failure for a while, so the next connection to that
# server does not try TLS again. Three MX hosts (peer.py) offer STARTTLS and then break the
# handshake after their 220: garbage bytes, a close, a stall (handshake timeout). A fourth
# one speaks TLS: it still gets TLS (the memory is per server).
. "$SCN/lib.sh"

tls_cert mx mx.example
i=20
for f in garbage close stall good; do
    zone_mx "$f" "10 mx.$f"
    zone_a "mx.$f" "127.0.0.$i"
    i=$((i + 1))
done
dns_start
i=20
for f in garbage close stall; do
    peer_start "$f" "127.0.0.$i" --tls-cert "$T/tls/mx.pem" --tls-key "$T/tls/mx.key" --tls-fault "$f"
    i=$((i + 1))
done
peer_start good 127.0.0.23 --tls-cert "$T/tls/mx.pem" --tls-key "$T/tls/mx.key"
conf_set deliver.client.timeout '"2s"'
sluice_start

# conns NAME: "starttls:messages:tls" per closed connection of peer NAME, in order.
conns() {
    peer_conn_json "$1" | python3 -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print("%d:%d:%s" % (r["starttls"], r["messages"], "tls" if r["tls"] else "clear"))' | tr '\n' ' '
}

inject_swaks sender@src.example u1@garbage.example,u1@close.example,u1@stall.example,u1@good.example
for f in garbage close stall good; do
    wait_until "[ \"\$(peer_stat $f messages)\" -ge 1 ]" 30 "u1@$f.example delivered"
done
wait_until queue_empty 20 "empty queue"
for f in garbage close stall; do
    log_has "to=<u1@$f\.example>, relay=mx\.$f\.example\[127\.0\.0\.[0-9]+\]:25, tls=none, .*status=sent" ||
        fail "no log line: u1@$f.example sent in cleartext"
    log_has "smtpc mx\.$f\.example\[127\.0\.0\.[0-9]+\]:25: .*; trying again without TLS" ||
        fail "no fallback line for mx.$f.example"
    wait_until "[ \"\$(peer_stat $f conns)\" -ge 2 ]" 10 "both connections to mx.$f closed"
    expect_eq "$(conns "$f")" "1:0:clear 0:1:clear " "connections to mx.$f (STARTTLS:messages:tls)"
done
log_has 'to=<u1@good\.example>, relay=mx\.good\.example\[127\.0\.0\.23\]:25, tls=TLSv1\.3/[A-Z0-9_]+, tls_peer=untrusted, .*status=sent' ||
    fail "no log line: u1@good.example sent over TLS"
expect_eq "$(log_count 'to=<[^>]*>.*status=deferred')" 0 "deferred deliveries"

note "a second message: the failed servers get cleartext at once, the good one TLS"
inject_swaks sender@src.example u2@garbage.example,u2@close.example,u2@stall.example,u2@good.example
for f in garbage close stall good; do
    wait_until "[ \"\$(peer_stat $f messages)\" -ge 2 ]" 30 "u2@$f.example delivered"
done
for f in garbage close stall; do
    wait_until "[ \"\$(peer_stat $f conns)\" -ge 3 ]" 10 "the third connection to mx.$f closed"
    expect_eq "$(conns "$f")" "1:0:clear 0:1:clear 0:1:clear " "connections to mx.$f after the second message"
done
log_has 'to=<u2@good\.example>, .*tls=TLSv1\.3/.*status=sent' || fail "u2@good.example not sent over TLS"
expect_eq "$(log_count 'trying again without TLS')" 3 "fallback lines (one per failed server)"
