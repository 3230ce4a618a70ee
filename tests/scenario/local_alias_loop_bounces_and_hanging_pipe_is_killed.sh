# Aliases at delivery: an alias loop (loopa -> loopb -> loopa) bounces 5.4.6 instead of
# circulating; a |command alias runs as `nobody` with the message on stdin; a command that
# exits 75 is deferred (4.3.0), one that exits 1 bounces (5.3.0); a command that hangs is
# killed at local.command_timeout and deferred; a /file alias is refused (5.7.1) when
# allow_mail_to_files does not hold "alias". A malformed aliases file makes newaliases exit
# 65 with FILE:LINE and the old map keeps working.
. "$SCN/lib.sh"

chmod 755 "$T"
mkdir -p "$T/out" && chmod 1777 "$T/out"
cat >"$T/aliases" <<EOF2
loopa: loopb
loopb: loopa
cmd: "|cat > $T/out/cmd.txt"
tmp: "|exit 75"
perm: "|exit 1"
hang: "|sleep 600"
file: $T/out/file.mbox
EOF2
conf_set aliases "[ \"$T/aliases\" ]"
conf_set smtpd.local_domains '[ "local.example" ]'
conf_set local.command_timeout '"2s"'
conf_set local.allow_mail_to_files '[ "forward" ]'
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/na.out" 2>&1 || fail "newaliases: $(cat "$T/na.out")"
expect_eq "$(cat "$T/na.out")" "$T/aliases: 7 aliases" "newaliases output"

sluice_start
for a in loopa cmd tmp perm hang file; do
    printf 'Subject: %s\n\nbody of %s\n' "$a" "$a" | submit "" "$a@local.example"
done
wait_until 'log_has "to=<loopa@local.example>.*dsn=5.4.6, status=bounced"' 20 "alias loop bounced"
wait_until '[ -s "$T/out/cmd.txt" ]' 20 "command output"
grep -q "^body of cmd" "$T/out/cmd.txt" || fail "command did not get the body"
grep -q "^Delivered-To: cmd@local.example" "$T/out/cmd.txt" || fail "no Delivered-To for the command"
expect_eq "$(stat -c %U "$T/out/cmd.txt")" "nobody" "the command ran as nobody"
wait_until 'log_has "to=<tmp@local.example>.*dsn=4.3.0, status=deferred \(4.3.0 command exited 75"' 20 "exit 75 deferred"
wait_until 'log_has "to=<perm@local.example>.*dsn=5.3.0, status=bounced \(5.3.0 command exited 1\)"' 20 "exit 1 bounced"
wait_until 'log_has "to=<hang@local.example>.*status=deferred \(4.3.0 command timed out after 2 s\)"' 20 "hanging command killed"
wait_until 'log_has "to=<file@local.example>.*dsn=5.7.1, status=bounced \(5.7.1 mail to files is not allowed in alias\)"' 20 "file alias refused"
pgrep -x sleep >/dev/null && fail "the hanging command is still running"

printf 'cmd: ok\nbroken line\n' >"$T/aliases.new" && cat "$T/aliases" >>"$T/aliases.new"
cp "$T/aliases.new" "$T/aliases"
rc=0
"$SLUICE" newaliases -c "$CONF" >"$T/na.out" 2>"$T/na.err" || rc=$?
expect_eq "$rc" 65 "newaliases exit status on a malformed file"
expect_eq "$(cat "$T/na.err")" "sluice newaliases: $T/aliases:2: no ':' after the name" "newaliases error"
[ -e "$T/aliases.db" ] || fail "old map removed"
ls "$T"/aliases.db.tmp.* >/dev/null 2>&1 && fail "temporary map left behind"
rm -f "$T/out/cmd.txt"
printf 'Subject: again\n\nbody of cmd\n' | submit "" "cmd@local.example"
wait_until '[ -s "$T/out/cmd.txt" ]' 20 "the old map still delivers cmd"
