# Strict RFC 5321 syntax by default (MAIL FROM without brackets: 501); seed "veR" without
# R: clients whose HELO matches a sloppy_helo pattern, or in sloppy_networks, may omit the
# angle brackets.
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

conf_set smtpd.sloppy_helo '[ "*.broken.example", "\\[*\\]" ]'
conf_set smtpd.sloppy_networks '[ "127.0.0.60/32" ]'
sluice_start
printf 'HELO ok.example\r\nMAIL FROM: a@src.example\r\nHELO old.broken.example\r\nMAIL FROM: a@src.example\r\nRCPT TO: u@dst.example\r\nRSET\r\nHELO [10.0.0.1]\r\nMAIL FROM:a@src.example\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^501 5\.5\.4 Syntax: MAIL' "strict by default"
expect_eq "$(grep -c '^250 2\.1\.0' "$T/replies")" 2 "sloppy MAIL accepted after a matching HELO"
expect_reply '^250 2\.1\.5' "sloppy RCPT"
swaks --server 127.0.0.1:2525 --local-interface 127.0.0.60 --helo strict.example --from a@src.example \
    --to u@dst.example --quit-after RCPT --protocol SMTP >"$T/swaks.out" 2>&1 || fail "swaks"
printf 'HELO strict.example\r\nMAIL FROM: a@src.example\r\nQUIT\r\n' >"$T/in"
python3 - "$T/in" >"$T/replies" <<'PY'
import socket, sys
s = socket.socket(); s.bind(("127.0.0.60", 0)); s.connect(("127.0.0.1", 2525)); s.settimeout(10)
s.recv(4096); s.sendall(open(sys.argv[1], "rb").read()); out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(out.decode().replace("\r\n", "\n"))
PY
expect_reply '^250 2\.1\.0' "sloppy network"
