# ~/.forward, read by the helper's child as the user: a good one (owned by the user, mode
# 0644, home 0700) forwards to the user's own mailbox (\USER), a |command run as the user and
# a remote address (queued as a new message, delivered to the smarthost). A .forward that is
# world writable, one owned by another user, and one in a group-writable home are ignored
# with a log line, and those users' mail goes to their Maildir.
. "$SCN/lib.sh"

P=slfw$$
chmod 755 "$T"
mkdir -p "$T/home" "$T/out"
chmod 755 "$T/home"
chmod 1777 "$T/out"
for n in 1 2 3 4; do
    useradd -M -d "$T/home/$P$n" -s /bin/sh "$P$n" || fail "useradd $P$n"
done
trap 'for n in 1 2 3 4; do userdel "$P$n" 2>/dev/null; done; scn_cleanup' EXIT
for n in 1 2 3 4; do
    mkdir -p "$T/home/$P$n" && chown "$P$n:" "$T/home/$P$n" && chmod 700 "$T/home/$P$n"
done
printf '\\%s\n"|cat > %s/out/cmd.txt"\nfar@far.example\n' "${P}1" "$T" >"$T/home/${P}1/.forward"
chown "${P}1:" "$T/home/${P}1/.forward" && chmod 644 "$T/home/${P}1/.forward"
echo far@far.example >"$T/home/${P}2/.forward"
chown "${P}2:" "$T/home/${P}2/.forward" && chmod 666 "$T/home/${P}2/.forward"
echo far@far.example >"$T/home/${P}3/.forward"
chown "${P}1:" "$T/home/${P}3/.forward" && chmod 644 "$T/home/${P}3/.forward"
echo far@far.example >"$T/home/${P}4/.forward"
chown "${P}4:" "$T/home/${P}4/.forward" && chmod 644 "$T/home/${P}4/.forward"
chmod 770 "$T/home/${P}4"

conf_set smtpd.local_domains '[ "local.example" ]'
conf_set local.allow_mail_to_commands '[ "alias", "forward" ]'
conf_set deliver.relays '( { address = "[127.0.0.7]:25"; } )'
sluice_conf
peer_start smarthost 127.0.0.7
sluice_start

for n in 1 2 3 4; do
    printf 'Subject: to %s\n\nbody for %s\n' "$P$n" "$P$n" | submit "a@src.example" "$P$n@local.example"
done
wait_until '[ -s "$T/out/cmd.txt" ]' 20 "the .forward command ran"
expect_eq "$(stat -c %U "$T/out/cmd.txt")" "${P}1" "the .forward command ran as the user"
grep -q "^body for ${P}1" "$T/out/cmd.txt" || fail "command did not get the body"
wait_until '[ "$(ls "$T/home/${P}1/Maildir/new" 2>/dev/null | wc -l)" -eq 1 ]' 20 "\\user mailbox delivery"
wait_until '[ "$(peer_stat smarthost rcpts)" -ge 1 ]' 30 "the remote .forward target"
expect_eq "$(peer_rcpt_list smarthost)" "far@far.example" "remote target of the good .forward"
wait_until 'log_has "to=<${P}1@local.example>.*status=sent" && log_has "local: expanded 1 recipients in one commit"' 20 "good .forward done"
wait_until 'log_has "~${P}2/.forward ignored: .forward is group or world writable"' 20 "world-writable .forward ignored"
wait_until 'log_has "~${P}3/.forward ignored: .forward is owned by uid [0-9]+, not by the user"' 20 "foreign .forward ignored"
wait_until 'log_has "~${P}4/.forward ignored: the home directory is group or world writable"' 20 "group-writable home ignored"
for n in 2 3 4; do
    wait_until "[ \"\$(ls '$T/home/$P$n/Maildir/new' 2>/dev/null | wc -l)\" -eq 1 ]" 20 "$P$n got the mail in its Maildir"
done
wait_until queue_empty 30 "empty queue"
expect_eq "$(peer_stat smarthost rcpts)" 1 "only the good .forward reached the smarthost"
