# Policy (seed fulltrustnet/relaytarget): a client outside trusted_networks may send to the
# hostname, local_domains, relay_domains and postmaster; anything else is 554 5.7.1 naming
# the address. A trusted client relays anywhere.
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

conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
conf_set smtpd.local_domains '[ "local.example" ]'
conf_set smtpd.relay_domains '[ "customer.example" ]'
sluice_start
for to in u@local.example u@customer.example u@sluice.example postmaster; do
    inject_swaks a@src.example "$to" --local-interface 127.0.0.50
done
swaks --server 127.0.0.1:2525 --local-interface 127.0.0.50 --from a@src.example --to u@elsewhere.example \
    --quit-after RCPT >"$T/swaks.out" 2>&1 && fail "relaying allowed for an untrusted client"
grep -q '<[~*]* 554 5\.7\.1 <u@elsewhere\.example>: Relay access denied' "$T/swaks.out" ||
    fail "554 does not name the address: $(grep '<[~*]* 5' "$T/swaks.out")"
inject_swaks a@src.example u@elsewhere.example --quit-after RCPT
