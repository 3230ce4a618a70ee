# A client idle longer than command_timeout, or connected longer than session_timeout even
# while active, gets 421 4.4.2 and is disconnected.
. "$SCN/lib.sh"

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
