# ETRN (RFC 1985): a trusted client, or any client for a relay_domains domain, gets 250
# "Queuing for node ... started" (the daemon's etrn callback runs); other domains 459;
# "#queue" names 458; inside a transaction 503.
. "$SCN/lib.sh"

# smtp_talk FILE [IP] [PORT]: waits for the greeting, sends FILE in one write (the client
# pipelines everything), prints every reply until the server closes (15 s at most).
smtp_talk() {
    python3 - "$1" "${2:-127.0.0.1}" "${3:-$SMTP_PORT}" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
s.settimeout(15)
out = b""
while b"\r\n" not in out:
    b = s.recv(65536)
    if not b:
        break
    out += b
s.sendall(open(sys.argv[1], "rb").read())
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
}

# expect_reply REGEX WHAT: the last smtp_talk output ($T/replies) has a line matching REGEX.
expect_reply() {
    grep -Eq -- "$1" "$T/replies" || fail "$2: no reply matching '$1' in: $(tr '\n' '|' <"$T/replies")"
}

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
