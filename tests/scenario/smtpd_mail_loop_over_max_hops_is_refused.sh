# Loop detection: a message with more than max_hops (default 50) Received headers is refused
# 554 5.4.6; with exactly max_hops it is accepted.
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

sluice_start
hops() { for i in $(seq 1 "$1"); do printf 'Received: from h%d.example by x.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n' "$i"; done; }
{ printf 'EHLO c.example\r\nMAIL FROM:<a@src.example>\r\nRCPT TO:<u@dst.example>\r\nDATA\r\n'; hops 51; printf '\r\nx\r\n.\r\n';
  printf 'MAIL FROM:<a@src.example>\r\nRCPT TO:<u@dst.example>\r\nDATA\r\n'; hops 50; printf '\r\nx\r\n.\r\nQUIT\r\n'; } >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^554 5\.4\.6' "51 hops"
expect_eq "$(grep -c '^250 2\.0\.0 Ok: queued' "$T/replies")" 1 "50 hops accepted"
