# A command line over 1000 octets (RFC 5321 4.5.3.1.4) is refused 500 5.5.2 without being
# buffered, and the session goes on; unknown commands are 500 5.5.1.
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
{ printf 'EHLO c.example\r\nMAIL FROM:<'; head -c 5000 /dev/zero | tr '\0' a; printf '@b.example>\r\nNOOP\r\nQUIT\r\n'; } >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^500 5\.5\.2 line too long' "long line"
expect_reply '^250 2\.0\.0 Ok$' "NOOP after it"
expect_reply '^221 2\.0\.0' "QUIT after it"
