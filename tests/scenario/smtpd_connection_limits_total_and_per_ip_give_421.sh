# max_connections_per_ip (seed MaxSameIpSource) and max_connections (MaxParallelConnections):
# a connection past either limit is greeted 421 4.7.0 and closed; when one closes, a new one
# is served again. Clients in trusted_networks are exempt from the per-IP limit only.
. "$SCN/lib.sh"

conf_set smtpd.max_connections_per_ip 2
conf_set smtpd.max_connections 5
conf_set smtpd.trusted_networks '[ "127.0.0.9/32" ]'
sluice_start
python3 - >"$T/replies" <<'PY'
import socket, time
def conn(ip):
    s = socket.socket(); s.bind((ip, 0)); s.connect(("127.0.0.1", 2525)); s.settimeout(10)
    return s, s.recv(4096).decode().strip()
a, g1 = conn("127.0.0.1"); b, g2 = conn("127.0.0.1"); c, g3 = conn("127.0.0.1")
print("same-ip-3:", g3)
t = [conn("127.0.0.9") for _ in range(3)]
print("trusted-3:", t[2][1])
g, g7 = conn("127.0.0.2")
print("total-6:", g7)
a.close(); time.sleep(0.3)
f, g6 = conn("127.0.0.1"); print("after-close:", g6)
PY
expect_reply '^same-ip-3: 421 4\.7\.0 .*too many connections from your address' "third connection from one IP"
expect_reply '^trusted-3: 220 ' "third connection from a trusted address (exempt from the per-IP limit)"
expect_reply '^total-6: 421 4\.7\.0 .*too many connections' "sixth connection in total"
expect_reply '^after-close: 220 ' "a slot freed by a closed connection"
