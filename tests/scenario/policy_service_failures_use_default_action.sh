# Bad policy servers (docs/policy.md): one that hangs (its timeout=), one that closes, one
# answering garbage, one sending a 100 000-byte line, one asking to REDIRECT to something
# that is not an address each count as their default action, with a warning naming the server and what went wrong;
# sluice keeps running. The request carries Postfix's attributes. A UNIX-socket server
# answering REJECT refuses; with default_action=DEFER a hanging server gives 450.
. "$SCN/lib.sh"

for m in hang:10031 close:10032 garbage:10033 huge:10034; do
    bg_start "pp-${m%%:*}" python3 "$SCN/policypeer.py" --listen "127.0.0.1:${m#*:}" --mode "${m%%:*}" \
        --log "$T/pp-${m%%:*}.jsonl"
done
bg_start pp-hold python3 "$SCN/policypeer.py" --listen 127.0.0.1:10035 --mode reply --reply 'REDIRECT not an address'
for p in 10031 10032 10033 10034 10035; do wait_until "port_open 127.0.0.1 $p" 10 "peer on $p"; done
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.local_domains '[ "local.test" ]'
conf_set smtpd.policy_services '[ "inet:127.0.0.1:10031 timeout=1s", "inet:127.0.0.1:10032", "inet:127.0.0.1:10033", "inet:127.0.0.1:10034", "inet:127.0.0.1:10035" ]'
sluice_start

rcpt_reply() { # rcpt_reply TO: the RCPT reply
    printf 'EHLO client.test\r\nMAIL FROM:<a@src.test> SIZE=1234\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" >"$T/in"
    smtp_talk "$T/in" | tail -2 | head -1
}
expect_eq "$(rcpt_reply u@local.test)" "250 2.1.5 Ok" "every failure counts as DUNNO"
for w in '10031: timed out' '10032: the server closed the connection' \
    '10033: a reply that is not a policy reply' '10034: a reply that is not a policy reply' \
    '10035: REDIRECT to something that is not an address'; do
    log_has "warning: policy inet:127\.0\.0\.1:$w" || fail "no warning '$w': $(grep 'policy inet' "$SLUICE_LOG")"
done
python3 - "$T/pp-close.jsonl" <<'PY' || fail "request attributes"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
want = {"request": "smtpd_access_policy", "protocol_state": "RCPT", "protocol_name": "ESMTP",
        "helo_name": "client.test", "sender": "a@src.test", "recipient": "u@local.test",
        "client_address": "127.0.0.1", "client_name": "unknown", "size": "1234",
        "recipient_count": "0"}
bad = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
assert not bad and r.get("instance"), bad
PY
sluice_alive || fail "sluice died"
sluice_stop

note "UNIX socket REJECT; DEFER as the default of a hanging server"
# the daemon runs as its own user: the socket lives in a directory it may enter
sockdir=$(mktemp -d /tmp/sluice-pp.XXXXXX) && chmod 755 "$sockdir"
at_exit "rm -rf '$sockdir'"
python3 - "$sockdir/pp.sock" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
import os
os.chmod(sys.argv[1], 0o666)
s.listen(4)
while True:
    c, _ = s.accept()
    buf = b""
    while b"\n\n" not in buf:
        d = c.recv(4096)
        if not d:
            break
        buf += d
    c.sendall(b"action=REJECT no thanks\n\n")
    c.close()
PY
SCN_PIDS+=($!)
wait_until '[ -S "$sockdir/pp.sock" ]' 10 "unix policy server"
conf_set smtpd.policy_services "[ \"unix:$sockdir/pp.sock\" ]"
sluice_conf
sluice_start
expect_eq "$(rcpt_reply u@local.test)" "554 5.7.1 <u@local.test>: Recipient address rejected: no thanks" \
    "REJECT over a UNIX socket"
sluice_stop
conf_set smtpd.policy_services '[ "inet:127.0.0.1:10031 timeout=1s default_action=DEFER" ]'
sluice_conf
sluice_start
expect_eq "$(rcpt_reply u@local.test)" "450 4.7.1 <u@local.test>: Recipient address rejected: Access denied" \
    "hanging server with default_action=DEFER"
sluice_stop
