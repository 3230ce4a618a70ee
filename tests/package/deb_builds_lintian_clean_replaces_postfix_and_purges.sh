# `make deb` builds sluice_VERSION_ARCH.deb with debhelper; lintian finds no error in it.
# It Provides, Conflicts with and Replaces mail-transport-agent, owns /usr/sbin/sendmail
# and /usr/bin/mailq, and carries the binary, the man pages, the unit and the conffile.
# Installed with apt in a throwaway root (the machine's root with its Postfix, as an
# overlay; lib.sh root_make) with systemd as PID 1 there (systemd_boot), it replaces
# Postfix; postinst creates the user sluice, the group sluicedrop, the spool (0710) with its
# maildrop (1730) and makes sluice-postdrop setgid sluicedrop (statoverride); the unit is enabled,
# started and passes `systemd-analyze verify`; the installed `sluice check-config`,
# `sendmail -bp`, `sendmail` and `mailq` work against the running service. Purge stops it
# and removes the user, the group, the spool and /etc/sluice. The machine is untouched.
. "$PKG/lib.sh"

V=$(sluice_version)
ARCH=$(dpkg --print-architecture)
DEB=$ROOT/sluice_${V}_$ARCH.deb
rm -f "$DEB"
note "make deb"
make -C "$ROOT" deb >"$T/deb.out" 2>&1 || fail "make deb: $(tail -20 "$T/deb.out")"
expect_file "$DEB" "package"
expect_eq "$(dpkg-deb -f "$DEB" Version)" "$V" "package version (debian/changelog) against sluice --version"

note "lintian"
lintian --fail-on error --display-info "$DEB" >"$T/lintian.out" 2>&1 ||
    fail "lintian: $(grep -E '^E:' "$T/lintian.out" | head -20)"
sed 's/^/    /' "$T/lintian.out"

note "control fields and contents"
for f in Provides Conflicts Replaces; do
    expect_eq "$(dpkg-deb -f "$DEB" "$f")" mail-transport-agent "$f"
done
dpkg-deb -f "$DEB" Depends | grep -q adduser || fail "Depends lacks adduser: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -c "$DEB" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' >"$T/contents"
for f in ./usr/sbin/sluice "./usr/sbin/sendmail -> sluice" "./usr/bin/mailq -> ../sbin/sluice" "./usr/bin/newaliases -> ../sbin/sluice" \
    "./usr/lib/sendmail -> ../sbin/sendmail" ./etc/sluice/sluice.conf \
    ./lib/systemd/system/sluice.service ./usr/share/man/man8/sluice.8.gz \
    ./usr/share/man/man5/sluice.conf.5.gz ./usr/share/man/man1/sendmail.1.gz \
    ./usr/share/man/man1/mailq.1.gz ./usr/share/doc/sluice/service.md ./usr/share/doc/sluice/config.md; do
    grep -qxF -- "$f" "$T/contents" || fail "package lacks $f"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles >"$T/conffiles"
grep -qx /etc/sluice/sluice.conf "$T/conffiles" || fail "conffiles: $(cat "$T/conffiles")"

note "install with apt in a throwaway root under systemd, replacing Postfix there"
root_make
# pkg_status NAME: dpkg's status of a package in the throwaway root ("" when unknown).
pkg_status() {
    in_root dpkg-query -W -f='${Status}' "$1" 2>/dev/null
}
expect_eq "$(pkg_status postfix)" "install ok installed" "Postfix in the throwaway root (to be replaced)"
# postinst must create the user: the machine has one (scripts/install-deps).
in_root userdel sluice 2>/dev/null
in_root getent group sluice >/dev/null && in_root groupdel sluice
in_root getent group sluicedrop >/dev/null && in_root groupdel sluicedrop
# Under systemd, the maintainer scripts enable and start the unit, as on a real host.
systemd_boot
rm -f "$R/usr/sbin/policy-rc.d"
DEBIAN_FRONTEND=noninteractive in_systemd apt-get install -y "$DEB" >"$T/apt.out" 2>&1 ||
    fail "apt-get install: $(tail -20 "$T/apt.out")"
expect_eq "$(pkg_status postfix)" "deinstall ok config-files" "Postfix after installing sluice"
expect_eq "$(pkg_status sluice)" "install ok installed" "sluice package status"
expect_eq "$(in_root dpkg -S /usr/sbin/sendmail | cut -d: -f1)" sluice "owner of /usr/sbin/sendmail"
expect_eq "$(in_root dpkg -S /usr/bin/mailq | cut -d: -f1)" sluice "owner of /usr/bin/mailq"
in_root getent passwd sluice >"$T/passwd" || fail "postinst created no user sluice"
expect_eq "$(cut -d: -f6,7 "$T/passwd")" "/var/spool/sluice:/usr/sbin/nologin" "home and shell of sluice"
in_root getent group sluice >/dev/null || fail "postinst created no group sluice"
expect_eq "$(in_root stat -c '%U %G %a' /var/spool/sluice)" "sluice sluicedrop 710" "spool owner, group, mode"
expect_eq "$(in_root stat -c '%U %G %a' /var/spool/sluice/maildrop)" "sluice sluicedrop 1730" "maildrop owner, group, mode"
expect_eq "$(in_root stat -c '%U %G %a' /usr/sbin/sluice-postdrop)" "root sluicedrop 2755" "sluice-postdrop (statoverride)"
expect_eq "$(in_systemd systemctl is-enabled sluice)" enabled "unit enabled by the package"
expect_eq "$(in_systemd systemctl is-active sluice)" active "unit started by the package"
in_systemd systemd-analyze verify sluice.service >"$T/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.out")"
[ -s "$T/verify.out" ] && fail "systemd-analyze verify says: $(cat "$T/verify.out")"

note "the installed commands"
expect_eq "$(in_systemd sluice check-config 2>&1)" ok "sluice check-config"
in_systemd sendmail -bp >"$T/bp.out" 2>&1 || fail "sendmail -bp exited $?: $(cat "$T/bp.out")"
expect_eq "$(cat "$T/bp.out")" "Mail queue is empty" "sendmail -bp of an empty queue"
printf 'Subject: installed\n\nbody\n' | in_systemd sendmail -f root@localhost nobody@nowhere.invalid ||
    fail "installed sendmail exited $?"
in_systemd mailq | grep -q '^ *nobody@nowhere\.invalid$' || fail "recipient in mailq: $(in_systemd mailq)"
in_systemd sendmail -bp | grep -q '^ *nobody@nowhere\.invalid$' ||
    fail "recipient in sendmail -bp: $(in_systemd sendmail -bp)"
wait_until 'in_systemd journalctl -u sluice --no-pager | grep -q "to=<nobody@nowhere.invalid>"' 10 \
    "the running service trying the message (journal)"

note "purge"
in_systemd dpkg --purge sluice >"$T/purge.out" 2>&1 || fail "dpkg --purge: $(tail -20 "$T/purge.out")"
expect_eq "$(in_systemd systemctl is-active sluice)" inactive "unit after purge"
expect_eq "$(pkg_status sluice)" "" "sluice package status after purge"
in_root getent passwd sluice && fail "user sluice left after purge"
in_root getent group sluice && fail "group sluice left after purge"
in_root getent group sluicedrop && fail "group sluicedrop left after purge"
in_root dpkg-statoverride --list /usr/sbin/sluice-postdrop && fail "statoverride of sluice-postdrop left after purge"
[ -e "$R/var/spool/sluice" ] && fail "spool left after purge"
[ -e "$R/etc/sluice" ] && fail "/etc/sluice left after purge: $(ls -la "$R/etc/sluice")"
[ -e "$R/usr/sbin/sendmail" ] && fail "/usr/sbin/sendmail left after purge"

note "the machine itself is untouched"
expect_eq "$(dpkg-query -W -f='${Status}' postfix)" "install ok installed" "Postfix on this machine"
dpkg-query -W sluice >/dev/null 2>&1 && fail "this machine knows a package sluice"
rm -f "$DEB"
exit 0
