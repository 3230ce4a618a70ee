# ETRN (RFC 1985): a trusted client, or any client for a relay_domains domain, gets 250
# "Queuing for node ... started" (the daemon's etrn callback runs); other domains 459;
# "#queue" names 458; inside a transaction 503.
. "$SCN/lib.sh"

conf_set smtpd.relay_domains '[ "customer.example" ]'
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
sluice_start
printf 'EHLO c.example\r\nETRN other.example\r\nETRN customer.example\r\nETRN @Customer.Example\r\nETRN #q\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" 127.0.0.1 >"$T/replies"
expect_eq "$(grep -c '^250 2\.0\.0 Queuing for node' "$T/replies")" 3 "ETRN from a trusted client"
printf 'EHLO c.example\r\nETRN other.example\r\nETRN customer.example\r\nMAIL FROM:<a@b.example>\r\nETRN customer.example\r\nQUIT\r\n' >"$T/in"
python3 - "$T/in" >"$T/replies" <<'PY'
import socket, sys
s = socket.socket(); s.bind(("127.0.0.50", 0)); s.connect(("127.0.0.1", 2525)); s.settimeout(10)
s.recv(4096); s.sendall(open(sys.argv[1], "rb").read()); out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(out.decode().replace("\r\n", "\n"))
PY
expect_reply '^459 4\.7\.1 <other\.example>' "ETRN for another domain from an untrusted client"
expect_reply '^250 2\.0\.0 Queuing for node customer\.example started' "ETRN for a relay domain"
expect_reply '^503 5\.5\.1' "ETRN inside a transaction"
log_has 'ETRN customer\.example' || fail "ETRN not logged"
