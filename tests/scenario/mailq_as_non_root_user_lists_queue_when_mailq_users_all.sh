# mailq_users = "all": `mailq` as sluicetest asks the running daemon (sluice-postdrop -p over
# SPOOL/showq.sock) and prints the queue as root's mailq does: each message's id (held ones
# with '!'), size, sender and recipients, the same summary line, never the content; --json
# too (postqueue -j's names); --tsv stays root's (77). The showq socket answers nothing but
# the listing: hold and delete sent to it by a non-root client (with the group sluicedrop,
# as the helper has) are refused and change nothing, and the control socket refuses that
# client. With the daemon stopped, the user's mailq says "mail system is down" and exits 75.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

conf_set mailq_users '"all"'
conf_set deliver.delay_start '"1h"'
maildrop_bin
sluice_start
expect_eq "$(stat -c '%a' "$T/spool/showq.sock")" 666 "showq socket mode"
printf 'Subject: s1\n\nsecret-body-line-one\n' | submit a@src.example u1@nowhere.example u2@nowhere.example
printf 'Subject: s2\n\nsecret-body-line-two\n' | submit b@src.example held@nowhere.example
mq
q1=$(awk -F'\t' '$4 == "u1@nowhere.example" { print $1 }' "$T/mailq.txt")
q2=$(awk -F'\t' '$4 == "held@nowhere.example" { print $1 }' "$T/mailq.txt")
[ -n "$q1" ] && [ -n "$q2" ] || fail "queue ids not found: $(cat "$T/mailq.txt")"
"$SLUICE" ctl -c "$CONF" hold "$q2" >"$T/hold.out" 2>&1 || fail "ctl hold: $(cat "$T/hold.out")"

note "mailq as sluicetest: the daemon's listing"
rc=0
as_user "$T/bin/mailq -c $CONF" >"$T/user.out" 2>"$T/user.err" || rc=$?
expect_eq "$rc" 0 "mailq exit status as sluicetest ($(cat "$T/user.err"))"
"$SLUICE" mailq -c "$CONF" >"$T/root.out" || fail "root's mailq failed"
cat "$T/user.out"
# '*' (due now) and ' ' (waiting) may change between the two listings as retries come due
unflag() { grep "^$1" "$2" | sed 's/^\([0-9A-F]*\)[*]/\1 /'; }
for q in "$q1" "$q2"; do
    want=$(unflag "$q" "$T/root.out")
    got=$(unflag "$q" "$T/user.out")
    [ -n "$want" ] || fail "root's mailq lacks $q"
    expect_eq "$got" "$want" "id, size, arrival and sender line of $q"
done
grep -q "^$q2! " "$T/user.out" || fail "held message $q2 is not shown as held (QID!)"
grep -Eq "^$q1[ *] .* a@src\.example$" "$T/user.out" || fail "sender of $q1 missing"
for r in u1@nowhere.example u2@nowhere.example held@nowhere.example; do
    grep -Eq "^ {41}$r$" "$T/user.out" || fail "recipient $r missing"
done
expect_eq "$(tail -1 "$T/user.out")" "$(tail -1 "$T/root.out")" "summary line"
expect_eq "$(tail -1 "$T/user.out" | grep -c 'in 2 Requests')" 1 "two requests counted"
grep -q secret-body "$T/user.out" && fail "mailq showed message content to sluicetest"

note "mailq --json as sluicetest"
as_user "$T/bin/mailq -c $CONF --json" >"$T/user.json" 2>&1 || fail "mailq --json: $(cat "$T/user.json")"
python3 - "$T/user.json" "$q1" "$q2" <<'EOF' || fail "mailq --json as sluicetest: $(cat "$T/user.json")"
import json, sys
msgs = {m["queue_id"]: m for m in map(json.loads, open(sys.argv[1]))}
q1, q2 = msgs[sys.argv[2]], msgs[sys.argv[3]]
assert q1["sender"] == "a@src.example" and q1["queue_name"] != "hold", q1
assert sorted(r["address"] for r in q1["recipients"]) == ["u1@nowhere.example", "u2@nowhere.example"], q1
assert q1["message_size"] > 0, q1
assert q2["queue_name"] == "hold" and q2["sender"] == "b@src.example", q2
EOF
rc=0
as_user "$T/bin/mailq -c $CONF --tsv" >"$T/tsv.out" 2>&1 || rc=$?
expect_eq "$rc" 77 "mailq --tsv exit status as sluicetest"
grep -q 'only root and the user sluice may use --tsv' "$T/tsv.out" || fail "--tsv: $(cat "$T/tsv.out")"

note "a non-root client cannot change anything through the showq socket or reach ctl.sock"
python3 - "$T/spool" "$q1" >"$T/mutate.out" 2>&1 <<'EOF' || fail "mutation attempts: $(cat "$T/mutate.out")"
import grp, os, pwd, socket, sys
spool, qid = sys.argv[1], sys.argv[2]
os.setgroups([])
os.setgid(grp.getgrnam("sluicedrop").gr_gid)
os.setuid(pwd.getpwnam("sluicetest").pw_uid)
def ask(path, line):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data.decode()
for req in (f"hold {qid}", f"delete {qid}", "reload", "showq\nhold " + qid):
    reply = ask(spool + "/showq.sock", req)
    first = reply.split("\n", 1)[0]
    print(repr(req), "->", first)
    if req.startswith("showq"):
        assert first == "OK" and reply.count("\nhold") == 0, reply
    else:
        assert first.startswith("ERR "), reply
try:
    print("ctl.sock ->", ask(spool + "/ctl.sock", f"hold {qid}"))
    sys.exit("ctl.sock answered a non-root client")
except PermissionError:
    print("ctl.sock: permission denied")
EOF
cat "$T/mutate.out"
"$SLUICE" mailq -c "$CONF" >"$T/root2.out"
grep -q "^$q1[ *] " "$T/root2.out" || fail "$q1 was changed through the showq socket: $(cat "$T/root2.out")"
log_has "showq socket: uid [0-9]+: refused a request other than showq" || fail "no log line for the refusal"

note "daemon down: mail system is down, exit 75"
sluice_stop
rc=0
as_user "$T/bin/mailq -c $CONF" >"$T/down.out" 2>&1 || rc=$?
expect_eq "$rc" 75 "mailq exit status as sluicetest with the daemon down"
grep -q 'Queue report unavailable - mail system is down' "$T/down.out" || fail "down: $(cat "$T/down.out")"
"$SLUICE" mailq -c "$CONF" | grep -q "^$q1[ *] " || fail "root's mailq does not read the queue itself"
