# Strict RFC 5321 syntax by default (MAIL FROM without brackets: 501); seed "veR" without
# R: clients whose HELO matches a sloppy_helo pattern, or in sloppy_networks, may omit the
# angle brackets.
. "$SCN/lib.sh"

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
