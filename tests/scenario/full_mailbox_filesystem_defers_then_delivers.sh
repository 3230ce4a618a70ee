# A full mailbox file system defers, never loses: the mbox spool directory is a 64 KiB tmpfs
# (mounted in the test's own mount namespace) filled by a ballast file; a 30 KiB message for
# a test user is deferred (status=deferred, dsn=4.2.2), stays queued (mailq), and leaves no
# half message in the mbox. With the ballast removed, `sendmail -q` delivers it at once
# (the retry interval is a minute, so only -q can do it in time) and Python's mailbox module
# reads it intact.
. "$SCN/lib.sh"

U=sluicefs$$
chmod 755 "$T"
mkdir -p "$T/home" "$T/spoolfs"
chmod 755 "$T/home"
mount -t tmpfs -o size=64k,mode=1777 tmpfs "$T/spoolfs" || fail "cannot mount a tmpfs on $T/spoolfs"
at_exit "umount '$T/spoolfs'"
useradd -M -d "$T/home/$U" -s /bin/sh "$U" || fail "useradd $U"
at_exit "userdel '$U'"
mkdir -p "$T/home/$U" && chown "$U" "$T/home/$U" && chmod 700 "$T/home/$U"

conf_set smtpd.local_domains '[ "local.example" ]'
conf_set local.mailbox '"mbox"'
conf_set local.mail_spool_directory "\"$T/spoolfs\""
conf_set deliver.interval '"1m"'
sluice_conf
ln -s "$SLUICE" "$T/sendmail"

# The message: 30 KiB of numbered lines, so it cannot fit in what the ballast leaves.
python3 - "$T/msg" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("From: a@src.example\nTo: u@local.example\nSubject: full fs\n\n")
    for i in range(600):
        f.write("line %05d %s\n" % (i, "x" * 40))
PY

dd if=/dev/zero of="$T/spoolfs/ballast" bs=1k 2>/dev/null
note "free after the ballast: $(df -k --output=avail "$T/spoolfs" | tail -1) kB"
sluice_start
submit a@src.example "$U@local.example" <"$T/msg"
wait_until 'log_has "to=<$U@local.example>.*status=deferred"' 30 "the delivery deferred"
log_has "to=<$U@local.example>.*dsn=4\.(2\.2|3\.0).*status=deferred" ||
    fail "deferral without dsn 4.2.2/4.3.0: $(grep "to=<$U@local" "$SLUICE_LOG")"
log_has "to=<$U@local.example>.*status=(sent|bounced)" && fail "the message was not kept"
expect_eq "$(mailq_count)" 1 "recipients still queued"
mailq_field "$U@local.example" 4 | grep -q "$U@local.example" || fail "mailq: $(cat "$T/mailq.txt")"
if [ -s "$T/spoolfs/$U" ]; then
    fail "half a message left in the mbox ($(stat -c %s "$T/spoolfs/$U") bytes)"
fi

note "space freed, sendmail -q"
rm -f "$T/spoolfs/ballast"
"$T/sendmail" -c "$CONF" -q >"$T/q.out" 2>&1 || fail "sendmail -q: $(cat "$T/q.out")"
wait_until 'log_has "to=<$U@local.example>.*status=sent"' 20 "delivered after sendmail -q"
wait_until queue_empty 20 "empty queue"
python3 - "$T/spoolfs/$U" "$T/msg" <<'PY' || fail "python mailbox could not read the mbox intact"
import mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1], create=False))
assert len(msgs) == 1, len(msgs)
m = msgs[0]
want = open(sys.argv[2], "rb").read().split(b"\n\n", 1)[1]
assert m.get_payload(decode=True) == want, "body differs"
assert m["Subject"] == "full fs" and m["Delivered-To"] == sys.argv[1].rsplit("/", 1)[1] + "@local.example"
PY
sluice_stop
