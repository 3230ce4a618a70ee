# RCPT TO:<@relay:user@domain> (RFC 5321 §4.1.1.3 / Appendix C; FML's r=relay). With
# smtpd.allow_source_routes on, a trusted client's (trusted_networks) recipient goes to
# user@domain via the host relay (a name or an [ip]; the relay is sent RCPT TO:<user@domain>),
# not to the domain's MX, and a route naming this host is just dropped. An untrusted client's
# route is dropped and the recipient checked like user@domain: refused for a domain it may
# not relay to (never an open relay), delivered by MX for a relay_domains domain. With the
# setting off (the default), a trusted client's route is dropped: delivered by MX.
. "$SCN/lib.sh"

zone_a relayhost 127.0.0.80
zone_mx far "10 farmx"
zone_a farmx 127.0.0.81
zone_mx rd "10 rdmx"
zone_a rdmx 127.0.0.83
dns_start
peer_start relay 127.0.0.80
sink_start farmx 127.0.0.81
peer_start lit 127.0.0.82
sink_start rdmx 127.0.0.83
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
conf_set smtpd.relay_domains '[ "rd.example" ]'
conf_set smtpd.allow_source_routes true
sluice_start

# trusted, on: via the relay named, by name and by address literal; a route to us: dropped
inject_swaks a@src.example '@relayhost.example:u1@far.example'
inject_swaks a@src.example '@[127.0.0.82]:u2@far.example'
inject_swaks a@src.example '@sluice.example:u6@far.example'
# untrusted, on: refused for far.example; dropped (delivered by MX) for rd.example
printf 'EHLO untrusted.example\r\nMAIL FROM:<b@src.example>\r\nRCPT TO:<@relayhost.example:u3@far.example>\r\nRCPT TO:<@relayhost.example,@x.example:u4@rd.example>\r\nDATA\r\n' >"$T/talk"
printf 'Subject: untrusted\r\n\r\nbody\r\n.\r\nQUIT\r\n' >>"$T/talk"
python3 - "$T/talk" >"$T/replies" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", 2525), source_address=("127.0.0.9", 0))
s.settimeout(10)
s.sendall(open(sys.argv[1], "rb").read())
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode("utf-8", "replace").replace("\r\n", "\n"))
PY
expect_reply '^554 5\.7\.1 <u3@far\.example>: Relay access denied' "untrusted source route to far.example"
expect_reply '^250 2\.0\.0 .*' "the untrusted message for rd.example accepted"

wait_until '[ "$(peer_stat relay rcpts)" -ge 1 ] && [ "$(peer_stat lit rcpts)" -ge 1 ] && [ "$(sink_rcpts farmx)" -ge 1 ] && [ "$(sink_rcpts rdmx)" -ge 1 ]' 30 \
    "routed recipients at the relays, the others at their MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list relay | tr '\n' ' ')" "u1@far.example " "RCPT TO at the relay named by the route"
expect_eq "$(peer_rcpt_list lit | tr '\n' ' ')" "u2@far.example " "RCPT TO at the [127.0.0.82] route"
expect_eq "$(sink_rcpt_list farmx | tr '\n' ' ')" "u6@far.example " "far.example's MX (route naming us dropped)"
expect_eq "$(sink_rcpt_list rdmx | tr '\n' ' ')" "u4@rd.example " "rd.example's MX (untrusted route dropped)"
log_has 'to=<@relayhost\.example:u1@far\.example>.*relay=relayhost\.example\[127\.0\.0\.80\]:25.*status=sent' ||
    fail "no log line: to=<@relayhost.example:u1@far.example>, relay=relayhost.example[127.0.0.80]:25, status=sent"

# off (the default): a trusted client's route is dropped
sluice_stop
conf_set smtpd.allow_source_routes false
sluice_conf
sluice_start
inject_swaks a@src.example '@relayhost.example:u5@far.example'
wait_until '[ "$(sink_rcpts farmx)" -ge 2 ]' 30 "u5@far.example at far.example's MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_rcpt_list farmx | sort | tr '\n' ' ')" "u5@far.example u6@far.example " "far.example's MX with the setting off"
expect_eq "$(peer_stat relay rcpts)" 1 "recipients at the relay (only u1)"
