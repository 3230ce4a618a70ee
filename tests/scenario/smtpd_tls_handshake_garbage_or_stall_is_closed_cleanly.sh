# Hostile TLS clients never crash the server and never hold a connection past
# smtpd.tls.handshake_timeout: after STARTTLS and on an implicit TLS listener, a client
# that sends garbage instead of a ClientHello, one that stalls, one that drops in the middle
# of its ClientHello, a plaintext client on the TLS port, and a client that sends a
# broken record after the handshake each get the connection closed with one log line
# (no SMTP reply is possible inside TLS). Twenty stalled handshakes at once all time out.
# Meanwhile and afterwards a well-behaved client delivers over STARTTLS.
. "$SCN/lib.sh"

zone_mx tls "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
tls_make_cert server rsa
conf_set smtpd.tls "{ cert_file = \"$T/tls/server.crt\"; key_file = \"$T/tls/server.key\"; handshake_timeout = \"1s\"; }"
conf_set smtpd.tls_listen '[ "127.0.0.1:465" ]'
sluice_start
wait_until 'port_open 127.0.0.1 465' 10 "implicit TLS port"

python3 - "$SMTP_PORT" "$T/tls/ca.crt" >"$T/hostile.out" 2>&1 <<'PY' || fail "hostile clients: $(cat "$T/hostile.out")"
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]

def client_hello():
    """The first flight of a real TLS client (a ClientHello), from a memory BIO."""
    ctx = ssl.create_default_context(cafile=ca)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="sluice.example")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()

def starttls(timeout=10):
    """A plaintext session up to the 220 of STARTTLS."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 ")
    s.sendall(b"EHLO c.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    s.sendall(b"STARTTLS\r\n")
    line = f.readline()
    assert line.startswith(b"220 "), line
    return s

def implicit(timeout=10):
    return socket.create_connection(("127.0.0.1", 465), timeout=timeout)

def closed(s, what):
    """Reads until the server closes (an alert may come first); fails after 10 s."""
    t0 = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise SystemExit(f"{what}: still open after 10 s")
    dt = time.monotonic() - t0
    print(f"{what}: closed after {dt:.1f}s", flush=True)
    return dt

s = starttls(); s.sendall(b"\x00\xff garbage, not a ClientHello\r\n" * 20); closed(s, "starttls garbage")
s = starttls(); dt = closed(s, "starttls stall")
assert dt >= 0.9, f"starttls stall closed after {dt:.2f}s, before handshake_timeout"
hello = client_hello()
s = starttls(); s.sendall(hello[: len(hello) // 2]); s.close(); print("starttls half hello: dropped")
s = implicit(); s.sendall(b"EHLO c.example\r\n"); closed(s, "implicit plaintext")
s = implicit(); dt = closed(s, "implicit stall")
assert dt >= 0.9, f"implicit stall closed after {dt:.2f}s"
s = implicit(); s.sendall(hello[:10]); s.close(); print("implicit half hello: dropped")
# a finished handshake, then a record that does not decrypt
ctx = ssl.create_default_context(cafile=ca)
t = ctx.wrap_socket(implicit(), server_hostname="sluice.example")
assert t.recv(4096).startswith(b"220 ")
raw = socket.socket(fileno=t.detach())      # the same connection, without TLS
raw.settimeout(10)
raw.sendall(b"\x17\x03\x03\x00\x20" + b"\x41" * 32)   # application data, bad MAC
closed(raw, "implicit bad record")
# twenty stalled handshakes at once
many = [starttls(timeout=15) for _ in range(10)] + [implicit(timeout=15) for _ in range(10)]
for i, s in enumerate(many):
    closed(s, f"stalled {i}")
PY
cat "$T/hostile.out"
wait_until "[ \"\$(log_count 'TLS handshake failed \(STARTTLS\): ')\" -ge 13 ]" 10 "STARTTLS failures logged"
wait_until "[ \"\$(log_count 'TLS handshake failed \(implicit\): ')\" -ge 13 ]" 10 "implicit failures logged"
expect_eq "$(log_count 'TLS handshake failed \((STARTTLS|implicit)\): timeout after 1000 ms')" 22 "handshakes that timed out"
log_has 'TLS handshake failed \(STARTTLS\): .*(wrong version number|packet length too long|record layer failure)' ||
    fail "garbage after STARTTLS: $(grep 'handshake failed' "$SLUICE_LOG" | head -3)"
log_has 'TLS handshake failed \(implicit\): .*(http request|wrong version number|packet length too long)' ||
    fail "plaintext on the TLS port: $(grep 'implicit' "$SLUICE_LOG" | head -3)"
log_has 'TLS handshake failed \(STARTTLS\): connection closed by the client' || fail "dropped half hello (STARTTLS)"
log_has 'TLS handshake failed \(implicit\): (connection closed by the client|unexpected eof while reading)' || fail "dropped half hello (implicit)"
log_has 'client=\[127\.0\.0\.1\]: TLS error: .*(decryption failed or bad record mac|bad record mac)' ||
    fail "bad record after the handshake: $(grep 'TLS error' "$SLUICE_LOG")"

note "a well-behaved client still delivers"
swaks --server "127.0.0.1:$SMTP_PORT" --helo c.example --from a@src.example --to u@tls.example \
    --tls >"$T/swaks.out" 2>&1 || fail "swaks --tls: $(tail -5 "$T/swaks.out")"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "the message at the MX"
sluice_answers || fail "sluice stopped answering"
sluice_stop
true
