# A client idle longer than command_timeout, or connected longer than session_timeout even
# while active, gets 421 4.4.2 and is disconnected.
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

conf_set smtpd.command_timeout '"1s"'
conf_set smtpd.session_timeout '"3s"'
sluice_start
python3 - >"$T/replies" <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 2525)); s.settimeout(10); s.recv(4096)
t = time.monotonic(); r = s.recv(4096).decode().strip()
print("idle: %s after %.1f" % (r, time.monotonic() - t))
s = socket.create_connection(("127.0.0.1", 2525)); s.settimeout(10); s.recv(4096)
t = time.monotonic(); r = ""
while "421" not in r and time.monotonic() - t < 8:
    s.sendall(b"NOOP\r\n"); r = s.recv(4096).decode(); time.sleep(0.5)
print("busy: %s after %.1f" % (r.strip().splitlines()[-1], time.monotonic() - t))
PY
cat "$T/replies"
expect_reply '^idle: 421 4\.4\.2 .*timeout after (0\.9|1\.[0-9])' "idle client"
expect_reply '^busy: 421 4\.4\.2 .*session time limit exceeded after (2\.[5-9]|3\.[0-9])' "long session"
