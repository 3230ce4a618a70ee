# Tarpit (seed "PARAM tarpit 20 2": initial delay, next = prev + prev * factor): every 4xx/5xx
# reply waits, each longer than the last; positive replies are not delayed.
. "$SCN/lib.sh"

conf_set smtpd.tarpit_initial '"300"'
conf_set smtpd.tarpit_factor 1
sluice_start
python3 - >"$T/replies" <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 2525)); s.settimeout(10); s.recv(4096)
def ask(line):
    t = time.monotonic(); s.sendall(line)
    r = s.recv(4096).decode().strip(); return r, time.monotonic() - t
for cmd in (b"NOOP\r\n", b"FOO\r\n", b"BAR\r\n", b"BAZ\r\n", b"NOOP\r\n"):
    r, dt = ask(cmd); print("%s %.2f" % (r[:3], dt))
PY
cat "$T/replies"
expect_eq "$(grep -c . "$T/replies")" 5 "replies timed"
awk 'NR==1 { if ($2 > 0.25) exit 1 }
     NR==2 { if ($2 < 0.28) exit 1 }
     NR==3 { if ($2 < 0.58) exit 1 }
     NR==4 { if ($2 < 1.18) exit 1 }
     NR==5 { if ($2 > 0.25) exit 1 }' "$T/replies" || fail "tarpit delays: $(tr '\n' ' ' <"$T/replies") want ~0 0.3 0.6 1.2 ~0"
