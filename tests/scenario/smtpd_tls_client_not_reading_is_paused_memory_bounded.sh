# A client under TLS that pipelines commands and never reads the replies is not read either
# (as in plaintext): once about 64 KiB of encrypted replies wait for it, the TLS filter
# stops, the session stops reading, and the client's writes block. The daemon's memory
# stays bounded, for a STARTTLS session (filter over the plaintext connection) and an
# implicit TLS one alike, and other clients are served meanwhile.
. "$SCN/lib.sh"

tls_world
conf_set smtpd.tls_listen '[ "127.0.0.1:465" ]'
sluice_start
wait_until 'port_open 127.0.0.1 465' 10 "implicit TLS port"
rss0=$(sluice_vmhwm)

# noread MODE: a TLS client that sends up to 64 MB of NOOPs without reading; holds the
# connection until $T/MODE.hold is removed
noread() {
    : >"$T/$1.hold"
    python3 - "$1" "$SMTP_PORT" "$T/$1" >"$T/$1.out" 2>&1 <<'PY' &
import os, socket, ssl, sys, time
mode, port, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
if mode == "starttls":
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b"EHLO c.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    raw.sendall(b"STARTTLS\r\n")
    assert f.readline().startswith(b"220 ")
    s = ctx.wrap_socket(raw)
else:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 465), timeout=10))
s.setblocking(False)
chunk, sent, total, last = b"NOOP\r\n" * 10000, 0, 64 << 20, time.monotonic()
while sent < total and time.monotonic() - last < 2:
    try:
        sent += s.send(chunk)
        last = time.monotonic()
    except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
        time.sleep(0.05)
print(f"{mode}: sent {sent} of {total} bytes", flush=True)
open(base + ".ready", "w").close()
while os.path.exists(base + ".hold"):
    time.sleep(0.05)
PY
    SCN_PIDS+=($!)
}
noread starttls
noread implicit
wait_until '[ -e "$T/starttls.ready" ] && [ -e "$T/implicit.ready" ]' 60 "both clients blocked or done"
cat "$T/starttls.out" "$T/implicit.out"
for m in starttls implicit; do
    sent=$(sed -n "s/^$m: sent \([0-9]*\) of .*/\1/p" "$T/$m.out")
    [ -n "$sent" ] && [ "$sent" -lt $((64 << 20)) ] || fail "$m: the server read everything ($(cat "$T/$m.out"))"
done
rss=$(sluice_vmhwm)
echo "VmHWM: before ${rss0} kB, after ${rss} kB"
# a sanitizer build keeps freed memory in quarantine (up to 256 MB): only bounded there
max=65536
grep -q __asan_init "$SLUICE" && max=262144
expect_le $((rss - rss0)) $max "daemon memory growth in kB while two TLS clients do not read"

note "another client is served meanwhile"
swaks --server "127.0.0.1:$SMTP_PORT" --helo c.example --from a@src.example --to u@tls.example \
    --tls >"$T/swaks.out" 2>&1 || fail "swaks --tls: $(tail -5 "$T/swaks.out")"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "the message at the MX"
rm -f "$T/starttls.hold" "$T/implicit.hold"
sluice_stop
true
