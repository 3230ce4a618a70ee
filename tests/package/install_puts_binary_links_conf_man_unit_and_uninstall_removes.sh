# `make install DESTDIR=... PREFIX=/usr` puts the binary in /usr/sbin, `sendmail` beside it
# and `mailq` in /usr/bin as links to it (each acting as its name: sendmail(1), mailq(1)),
# etc/sluice.conf as /etc/sluice/sluice.conf (kept when present), the man pages, the docs
# and the systemd unit with the installed path of the binary. `make uninstall` removes all
# of it but a changed configuration. Then, in a throwaway root, `make install PREFIX=/usr`
# for real: `systemd-analyze verify` accepts the unit there (binary, /bin/kill and the
# man pages it names all present) and `man` finds every page.
. "$PKG/lib.sh"

D=$T/dest
make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system >"$T/install.out" 2>&1 ||
    fail "make install: $(tail -5 "$T/install.out")"

note "layout"
for f in usr/sbin/sluice usr/share/man/man8/sluice.8 usr/share/man/man5/sluice.conf.5 \
    usr/share/man/man1/sendmail.1 usr/share/man/man1/mailq.1 usr/share/doc/sluice/README.md \
    usr/share/doc/sluice/config.md usr/share/doc/sluice/service.md \
    lib/systemd/system/sluice.service etc/sluice/sluice.conf; do
    expect_file "$D/$f" "installed file"
done
expect_eq "$(stat -c %a "$D/usr/sbin/sluice")" 755 "mode of /usr/sbin/sluice"
expect_eq "$(stat -c '%G %a' "$D/usr/sbin/sluice-postdrop")" "sluicedrop 2755" \
    "sluice-postdrop setgid sluicedrop (make install as root, the group present)"
expect_eq "$(readlink "$D/usr/sbin/sendmail")" sluice "/usr/sbin/sendmail link"
expect_eq "$(readlink "$D/usr/bin/mailq")" ../sbin/sluice "/usr/bin/mailq link"
cmp -s "$ROOT/etc/sluice.conf" "$D/etc/sluice/sluice.conf" || fail "/etc/sluice/sluice.conf differs from etc/sluice.conf"
grep -qx 'ExecStart=/usr/sbin/sluice run' "$D/lib/systemd/system/sluice.service" ||
    fail "unit ExecStart: $(grep ExecStart= "$D/lib/systemd/system/sluice.service")"
grep -q @ "$D/lib/systemd/system/sluice.service" && fail "unsubstituted @...@ in the unit"

note "each name acts as its command"
printf 'spool = "%s/spool";\n' "$T" >"$T/t.conf"
mkdir -m 700 "$T/spool"
expect_eq "$("$D/usr/sbin/sluice" check-config -c "$T/t.conf")" ok "installed sluice check-config"
printf 'Subject: t\n\nbody\n' | "$D/usr/sbin/sendmail" -c "$T/t.conf" -f a@src.example b@dst.example ||
    fail "installed sendmail exited $?"
expect_eq "$("$D/usr/bin/mailq" -c "$T/t.conf" --tsv | cut -f3,4,5)" "a@src.example	b@dst.example	pending" \
    "installed mailq"
"$D/usr/sbin/sendmail" -bp -c "$T/t.conf" | grep -q '^ *b@dst\.example$' ||
    fail "installed sendmail -bp (Postfix format): $("$D/usr/sbin/sendmail" -bp -c "$T/t.conf")"
expect_eq "$(readlink "$D/usr/bin/newaliases")" ../sbin/sluice "/usr/bin/newaliases link"
printf 'postmaster: root\n' >"$T/aliases"
printf 'aliases = [ "%s/aliases" ];\n' "$T" >>"$T/t.conf"
expect_eq "$("$D/usr/bin/newaliases" -c "$T/t.conf")" "$T/aliases: 1 aliases" "installed newaliases"

note "a present configuration is kept"
echo '# mine' >>"$D/etc/sluice/sluice.conf"
make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system >"$T/install2.out" 2>&1 ||
    fail "second make install: $(tail -5 "$T/install2.out")"
expect_eq "$(tail -1 "$D/etc/sluice/sluice.conf")" "# mine" "last line of the kept configuration"
grep -q "keeping $D/etc/sluice/sluice.conf" "$T/install2.out" || fail "make install does not say it kept the configuration"

note "uninstall keeps only the changed configuration"
make -s -C "$ROOT" uninstall DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system >"$T/uninstall.out" 2>&1 ||
    fail "make uninstall: $(tail -5 "$T/uninstall.out")"
expect_eq "$(cd "$D" && find . ! -type d | sort | tr '\n' ' ')" "./etc/sluice/sluice.conf " "files left after uninstall"
rm "$D/etc/sluice/sluice.conf"
make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system >/dev/null 2>&1 || fail "third make install"
make -s -C "$ROOT" uninstall DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system >/dev/null 2>&1 || fail "second make uninstall"
expect_eq "$(cd "$D" && find . ! -type d | wc -l)" 0 "files left after uninstall of an unchanged configuration"

note "PREFIX=/usr/local: unit in /usr/local/lib/systemd/system, ExecStart in /usr/local/sbin"
make -s -C "$ROOT" install DESTDIR="$T/local" >/dev/null 2>&1 || fail "make install (default PREFIX)"
grep -qx 'ExecStart=/usr/local/sbin/sluice run' "$T/local/usr/local/lib/systemd/system/sluice.service" ||
    fail "default PREFIX: no /usr/local/lib/systemd/system/sluice.service with ExecStart=/usr/local/sbin/sluice run"

note "for real, in a throwaway root"
root_make
in_root make -s -C "$ROOT" install PREFIX=/usr >"$T/root-install.out" 2>&1 ||
    fail "make install in the throwaway root: $(tail -5 "$T/root-install.out")"
in_root systemd-analyze verify sluice.service >"$T/verify.out" 2>&1 ||
    fail "systemd-analyze verify sluice.service: $(cat "$T/verify.out")"
[ -s "$T/verify.out" ] && fail "systemd-analyze verify says: $(cat "$T/verify.out")"
for page in 8:sluice 8:sluice-ctl 5:sluice.conf 1:sendmail 1:mailq 1:newaliases; do
    got=$(in_root man -w "${page%%:*}" "${page#*:}" 2>&1)
    case $got in /usr/share/man/*) ;; *) fail "man -w ${page%%:*} ${page#*:}: $got" ;; esac
done
expect_eq "$(in_root sluice check-config)" ok "sluice check-config of the installed /etc/sluice/sluice.conf"
exit 0
