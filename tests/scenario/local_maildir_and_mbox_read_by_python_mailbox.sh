# Local delivery as the recipient: a message with 8-bit text, a dot line and a "From " line
# reaches a test user's Maildir (tmp -> new, owned by the user, Return-Path: and
# Delivered-To: added) and, after a restart with local.mailbox = "mbox", the user's mbox;
# Python's mailbox module reads both and finds the message intact. `sendmail root` gets
# myorigin (example.org, a local domain) and bare RCPT TO:<postmaster> this host's name; both
# reach the user through the aliases postmaster: root, root: USER. The daemon runs as `sluice`: the files
# are written by the helper's child as the user, never by the daemon.
. "$SCN/lib.sh"

U=sluicelt$$
chmod 755 "$T"
mkdir -p "$T/home" "$T/mail"
chmod 755 "$T/home"
chmod 1777 "$T/mail"
useradd -M -d "$T/home/$U" -s /bin/sh "$U" || fail "useradd $U"
trap 'userdel "$U" 2>/dev/null; scn_cleanup' EXIT
mkdir -p "$T/home/$U" && chown "$U" "$T/home/$U" && chmod 700 "$T/home/$U"

printf 'root: %s\npostmaster: root\n' "$U" >"$T/aliases"
conf_set myorigin '"example.org"'
conf_set smtpd.local_domains '[ "local.example", "example.org" ]'
conf_set aliases "[ \"$T/aliases\" ]"
conf_set local.mail_spool_directory "\"$T/mail\""
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/newaliases.out" 2>&1 || fail "newaliases: $(cat "$T/newaliases.out")"

cat >"$T/msg" <<'MSG'
From: a@src.example
To: someone
Subject: local test

caf\xc3\xa9 8-bit line
.
..two dots
From the start of a line
last line
MSG
printf '%b' "$(cat "$T/msg")" >"$T/msg8"

# smtp_send FROM RCPT: $T/msg8 over SMTP (smtplib dot-stuffs the "." line).
smtp_send() {
    python3 - "$1" "$2" "$T/msg8" <<'PY' || fail "SMTP $1 -> $2"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", 2525) as s:
    s.ehlo("inject.example")
    s.sendmail(sys.argv[1], [sys.argv[2]], open(sys.argv[3], "rb").read(), mail_options=["BODY=8BITMIME"])
PY
}

sluice_start
smtp_send a@src.example "$U@local.example"
smtp_send b@src.example postmaster
"$SLUICE" submit -c "$CONF" -i -f b@src.example root <"$T/msg8" || fail "sendmail root"
wait_until '[ "$(ls "$T/home/$U/Maildir/new" 2>/dev/null | wc -l)" -ge 3 ]' 30 "3 messages in the Maildir"
expect_eq "$(stat -c %U "$T/home/$U/Maildir/new")" "$U" "owner of Maildir/new"
expect_eq "$(ls "$T/home/$U/Maildir/tmp" | wc -l)" 0 "nothing left in Maildir/tmp"
for f in "$T/home/$U/Maildir/new"/*; do
    expect_eq "$(stat -c %U "$f")" "$U" "owner of $(basename "$f")"
    case "$f" in *,S=[0-9]*) ;; *) fail "Maildir++ name without S=: $f" ;; esac
done
python3 - "$T/home/$U/Maildir" "$U" <<'PY' || fail "python mailbox could not read the Maildir"
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
msgs = list(box)
assert len(msgs) == 3, len(msgs)
tos = sorted(m["Delivered-To"] for m in msgs)
assert tos == sorted([sys.argv[2] + "@local.example", "postmaster@sluice.example",
                      "root@example.org"]), tos
for m in msgs:
    body = m.get_payload(decode=True)
    assert b"caf\xc3\xa9 8-bit line\n.\n..two dots\nFrom the start of a line\nlast line\n" in body, body
    assert m["Return-Path"] in ("<a@src.example>", "<b@src.example>"), m["Return-Path"]
PY
wait_until queue_empty 20 "empty queue"
sluice_stop

conf_set local.mailbox '"mbox"'
sluice_conf
sluice_start
smtp_send c@src.example "$U@local.example"
smtp_send d@src.example "$U@local.example"
wait_until '[ "$(grep -c "^From " "$T/mail/$U" 2>/dev/null)" -ge 2 ]' 30 "2 messages in the mbox"
expect_eq "$(stat -c '%U %a' "$T/mail/$U")" "$U 600" "owner and mode of the mbox"
[ -e "$T/mail/$U.lock" ] && fail "dotlock left behind"
python3 - "$T/mail/$U" <<'PY' || fail "python mailbox could not read the mbox"
import mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1], create=False))
assert len(msgs) == 2, len(msgs)
for m in msgs:
    body = m.get_payload(decode=True)
    assert b"caf\xc3\xa9 8-bit line\n.\n..two dots\n>From the start of a line\nlast line\n" in body, body
assert sorted(m.get_from().split()[0] for m in msgs) == ["c@src.example", "d@src.example"]
PY
wait_until queue_empty 20 "empty queue"
