# `sluice ctl suppress list|export|add|remove` edits the daemon's suppression list over the
# control channel: add answers once the entry is committed and later mail to the address
# fails at once (no connection); list (text and --json) and export show it; remove answers
# once removed, the address is tried again; removing an absent address and a bad address are
# errors (exit 1 with the reason); `sluice suppress` sees the same list.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
conf_set suppression '{ enabled = true; duration = "30d"; }'
conf_set deliver.idlemax '"0"'
sluice_start
mx_rcpts() { grep -o "\"$1@d.example\"" "$T/peers/mx.jsonl" 2>/dev/null | wc -l; }

ctl_ok suppress add '<Gone@D.example>' complained by phone
expect_eq "$(cat "$T/ctl.out")" "gone@d.example added" "reply to add"
log_has "ctl: uid 0 pid [0-9]+: suppress: gone@d.example added" || fail "no ctl add log line"
ctl_ok suppress list
grep -q '^gone@d.example  .*until .*  complained by phone$' "$T/ctl.out" || fail "list: $(cat "$T/ctl.out")"
ctl_ok suppress list --json
python3 -c 'import json,sys
e = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert len(e) == 1 and e[0]["address"] == "gone@d.example" and e[0]["active"] is True \
    and e[0]["reason"] == "complained by phone", e' "$T/ctl.out" || fail "list --json: $(cat "$T/ctl.out")"
ctl_ok suppress export
awk -F'\t' '$1 == "gone@d.example" && $4 == 1 && $3 - $2 == 30 * 86400 { ok = 1 } END { exit !ok }' \
    "$T/ctl.out" || fail "export: $(cat "$T/ctl.out")"
"$SLUICE" suppress -c "$CONF" list | grep -q '^gone@d.example ' || fail "sluice suppress does not see it"

# Suppressed: fails at once, the MX never sees it.
inject_swaks sender@src.example gone@d.example
wait_until 'log_has "to=<gone@d.example>, relay=none, .*status=bounced \(5\.1\.1 <gone@d.example> suppressed"' \
    20 "the ctl-added address failed at once"
expect_eq "$(mx_rcpts gone)" 0 "RCPTs for gone@ at the MX"

# Errors: a bad address, a remove of an absent address, a missing argument.
ctl suppress add not-an-address; expect_eq $? 1 "exit of add with a bad address"
grep -q "expected an address" "$T/ctl.err" || fail "bad address reason: $(cat "$T/ctl.err")"
ctl suppress remove nobody@d.example; expect_eq $? 1 "exit of remove of an absent address"
grep -q "nobody@d.example is not on the list" "$T/ctl.err" || fail "absent reason: $(cat "$T/ctl.err")"
ctl suppress; expect_eq $? 1 "exit of suppress without a subcommand"

# remove: tried again at the MX.
ctl_ok suppress remove gone@d.example
expect_eq "$(cat "$T/ctl.out")" "gone@d.example removed" "reply to remove"
ctl_ok suppress list
expect_eq "$(cat "$T/ctl.out")" "" "the list after remove"
inject_swaks sender@src.example gone@d.example --header "Subject: again"
wait_until 'log_has "to=<gone@d.example>, relay=mx.example\[127.0.0.20\]:25, .*status=sent"' 30 \
    "gone@ delivered to the MX after remove"
sluice_stop
