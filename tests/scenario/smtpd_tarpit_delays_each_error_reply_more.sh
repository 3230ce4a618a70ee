# Tarpit (seed "PARAM tarpit 20 2": initial delay, next = prev + prev * factor): every 4xx/5xx
# reply waits, each longer than the last; positive replies are not delayed.
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
