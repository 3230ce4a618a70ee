# max_recipients (seed RcptLimitCount): past it RCPT gets 452 4.5.3 and the message goes to
# the recipients accepted; max_error_recipients (seed max-error-recipients): a client whose
# refused RCPTs exceed it is disconnected with 421.
. "$SCN/lib.sh"

conf_set smtpd.max_recipients 100
conf_set smtpd.max_error_recipients 2
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
conf_set smtpd.relay_domains '[ "dst.example" ]'
sluice_start
{
    printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\n'
    for i in $(seq 1 101); do printf 'RCPT TO:<u%d@dst.example>\r\n' "$i"; done
    printf 'DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n'
} >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_eq "$(grep -c '^250 2\.1\.5' "$T/replies")" 100 "recipients accepted"
expect_reply '^452 4\.5\.3' "101st recipient"
expect_reply '^250 2\.0\.0 Ok: queued' "message with 100 recipients"
printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<x@other.example>\r\nRCPT TO:<y@other.example>\r\nRCPT TO:<z@other.example>\r\nRCPT TO:<u@dst.example>\r\n' >"$T/in"
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
expect_eq "$(grep -c '^554 5\.7\.1' "$T/replies")" 3 "refused recipients"
expect_reply '^421 4\.7\.0 .*too many failed recipients' "disconnect after the third refusal"
grep -q '^250 2\.1\.5' "$T/replies" && fail "RCPT after the 421 was served"
true
