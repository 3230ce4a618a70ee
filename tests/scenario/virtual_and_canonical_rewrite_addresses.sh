# The virtual and canonical maps (text files compiled by `sluice newaliases` into LMDB maps):
# canonical rewrites the recipient (old@local.example -> USER@local.example, and USER@legacy.example by the domain entry
# @legacy.example -> @local.example) and the sender (a@src.example -> sender@canon.example,
# seen in Return-Path:); virtual sends info@virt.example to the local user and to a remote
# address (one new queued message at far.example), and the catch-all @virt.example to the
# alias "team" (aliases come after virtual). A malformed virtual file gives FILE:LINE at
# newaliases and keeps the old map.
. "$SCN/lib.sh"

U=sluicevc$$
chmod 755 "$T"
mkdir -p "$T/home"
chmod 755 "$T/home"
useradd -M -d "$T/home/$U" -s /bin/sh "$U" || fail "useradd $U"
at_exit "userdel '$U'"
mkdir -p "$T/home/$U" && chown "$U" "$T/home/$U" && chmod 700 "$T/home/$U"

printf 'team: %s\n' "$U" >"$T/aliases"
cat >"$T/virtual" <<V
# virtual: address -> addresses
info@virt.example   $U@local.example,
    someone@far.example
@virt.example       team@local.example
V
cat >"$T/canonical" <<C
old@local.example   $U@local.example
@legacy.example     @local.example
a@src.example       sender@canon.example
C
zone_mx far "10 far"
zone_a far 127.0.0.40
dns_start
sink_start far 127.0.0.40
conf_set smtpd.local_domains '[ "local.example", "virt.example", "legacy.example" ]'
conf_set aliases "[ \"$T/aliases\" ]"
conf_set virtual "[ \"$T/virtual\" ]"
conf_set canonical "[ \"$T/canonical\" ]"
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/newaliases.out" 2>&1 || fail "newaliases: $(cat "$T/newaliases.out")"
grep -q "$T/virtual: 2 virtual entries" "$T/newaliases.out" || fail "newaliases: $(cat "$T/newaliases.out")"
grep -q "$T/canonical: 3 canonical entries" "$T/newaliases.out" || fail "newaliases: $(cat "$T/newaliases.out")"

note "a malformed virtual file: FILE:LINE, the old map stays"
cp "$T/virtual" "$T/virtual.good"
printf 'broken@virt.example |/bin/true\n' >>"$T/virtual"
rc=0
"$SLUICE" newaliases -c "$CONF" >"$T/bad.out" 2>&1 || rc=$?
expect_eq "$rc" 65 "newaliases exit status for a bad virtual file"
grep -q "$T/virtual:5: bad address" "$T/bad.out" || fail "no FILE:LINE error: $(cat "$T/bad.out")"
[ -s "$T/virtual.db" ] || fail "the old virtual map is gone"
cp "$T/virtual.good" "$T/virtual"
sluice_start

for rcpt in old@local.example $U@legacy.example info@virt.example anything@virt.example; do
    submit a@src.example "$rcpt" <<M
Subject: to $rcpt

body for $rcpt
M
done
wait_until '[ "$(ls "$T/home/$U/Maildir/new" 2>/dev/null | wc -l)" -ge 4 ]' 30 "4 messages in the Maildir"
wait_until '[ "$(sink_msgs far)" -ge 1 ]' 30 "the virtual expansion at far.example"
python3 - "$T/home/$U/Maildir" "$U" <<'PY' || fail "the Maildir does not hold the rewritten deliveries"
import mailbox, sys
msgs = list(mailbox.Maildir(sys.argv[1], factory=None, create=False))
subjects = sorted(m["Subject"] for m in msgs)
assert subjects == sorted("to " + r for r in ("old@local.example", sys.argv[2] + "@legacy.example",
                          "info@virt.example", "anything@virt.example")), subjects
for m in msgs:
    assert m["Return-Path"] == "<sender@canon.example>", m["Return-Path"]
PY
grep -rq "someone@far.example" "$T/sinks/far" || fail "far.example did not get someone@far.example"
grep -rqi "MAIL FROM:<sender@canon.example>\|sender@canon.example" "$T/sinks/far" ||
    fail "the expansion's sender is not the canonical one"
wait_until queue_empty 20 "empty queue"
