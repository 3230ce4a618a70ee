# Started as root, the daemon binds port 2525, then runs as the unprivileged `user`
# (default "sluice"): its uid is sluice's, the spool and its files belong to sluice with
# mode 0700 (0710 with group sluicedrop when that group exists: non-root sendmail reaches its
# maildrop, docs/sendmail.md), and mail submitted by root is still delivered.
. "$SCN/lib.sh"

getent passwd sluice >/dev/null || fail "system user sluice missing (scripts/install-deps creates it)"
want_uid=$(id -u sluice)
zone_mx priv "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
sluice_start
wait_until 'grep -q "running as user sluice" "$T/sluice.log"' 10 "privilege drop logged"
uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$SLUICE_PID/status")
expect_eq "$uid" "$want_uid,$want_uid,$want_uid,$want_uid" "real,effective,saved,fs uid of the daemon"
if getent group sluicedrop >/dev/null; then
    expect_eq "$(stat -c '%U %G %a' "$T/spool")" "sluice sluicedrop 710" "spool owner, group and mode"
else
    expect_eq "$(stat -c '%U %a' "$T/spool")" "sluice 700" "spool owner and mode"
fi
for f in "$T/spool"/*; do
    expect_eq "$(stat -c %U "$f")" "sluice" "owner of $(basename "$f")"
done
printf 'Subject: after drop\n\nbody\n' | submit root@src.example u1@priv.example
inject_swaks someone@src.example u2@priv.example
wait_until '[ "$(sink_rcpts mx)" -ge 2 ]' 30 "2 recipients at the MX"
wait_until queue_empty 20 "empty queue"
