# lib.sh: helpers for the installation and packaging tests (tests/package/*.sh, bash).
# The runner (tests/package/run) starts each test in its own mount, network and pid
# namespace, in a fresh directory $T, with $PKG (this directory) and $ROOT (the checkout)
# exported.
#
# fail MSG; note MSG; expect_eq GOT WANT WHAT; expect_file PATH WHAT;
# wait_until 'CONDITION' TIMEOUT_S [WHAT]  (polls every 50 ms; tests never sleep blindly)
# sluice_version                      the binary's version ("0.1.0")
# root_make                           a throwaway root at $R: the machine's / as the read-only
#                                     lower layer of an overlay (writes to a tmpfs), with
#                                     /proc, /dev, a tmpfs /run, and a policy-rc.d that lets
#                                     no package start a daemon; gone when the test ends
# in_root CMD...                      runs CMD chrooted into $R (output to the test log)
# systemd_boot                        systemd as PID 1 of a container on $R (root_make first):
#                                     its own pid and cgroup namespace (a child cgroup of this
#                                     machine's cgroup2 hierarchy), its own /dev (the harmless
#                                     nodes only), /sys and /proc/sys read-only, nspawn's
#                                     capability set (no module loading, no clock, no raw I/O),
#                                     booted into an empty target; waits until it runs
# in_systemd CMD...                   runs CMD inside that container (systemctl, journalctl)
set -u
export LC_ALL=C
: "${T:?T (the test directory) must be set}"
: "${PKG:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${ROOT:=$(cd "$PKG/../.." && pwd)}"
SLUICE=$ROOT/build/sluice

# Prints a message and ends the test as failed.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Progress line in the test log.
note() {
    echo "--- $*"
}

# expect_eq GOT WANT WHAT: fails with "WHAT: got X, want Y" unless equal.
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# wait_until 'shell condition' TIMEOUT_S [what]: polls every 50 ms until the condition holds.
wait_until() {
    local cond=$1 limit=$2 what=${3:-$1}
    local deadline=$(($(date +%s%N) / 1000000 + limit * 1000))
    until eval "$cond"; do
        [ $(($(date +%s%N) / 1000000)) -lt $deadline ] || fail "timed out after ${limit}s waiting for: $what"
        sleep 0.05
    done
}

# expect_file PATH WHAT: PATH exists (a file, a directory or a symbolic link).
expect_file() {
    [ -e "$1" ] || [ -L "$1" ] || fail "$2: $1 is missing"
}

sluice_version() {
    "$SLUICE" --version | cut -d' ' -f2
}

# The throwaway root. The runner's private mount namespace holds every mount made here.
root_make() {
    R=$T/ovl/root
    mkdir -p "$T/ovl"
    mount -t tmpfs -o mode=755 tmpfs "$T/ovl" || fail "cannot mount a tmpfs at $T/ovl"
    mkdir -p "$T/ovl/upper" "$T/ovl/work" "$R"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$R" ||
        fail "cannot mount an overlay of / at $R"
    mount -t proc proc "$R/proc" || fail "cannot mount /proc in $R"
    dev_private "$R/dev"
    mount -t tmpfs -o mode=755 tmpfs "$R/run" || fail "cannot mount /run in $R"
    printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
    chmod 755 "$R/usr/sbin/policy-rc.d"
    note "throwaway root at $R (overlay of /, writes to tmpfs)"
}

# Runs a command inside the throwaway root.
in_root() {
    chroot "$R" "$@"
}

# --- systemd as PID 1 in a container on the throwaway root -------------------------------

CG_BASE=/sys/fs/cgroup/unified
[ -f /sys/fs/cgroup/cgroup.controllers ] && CG_BASE=/sys/fs/cgroup
SD_PID=""
SD_CG=""

# Kills what is left in the container's cgroup and removes it (and what systemd made in it).
systemd_cleanup() {
    [ -n "$SD_CG" ] && [ -d "$SD_CG" ] || return 0
    echo 1 >"$SD_CG/cgroup.kill" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q '^populated 0' "$SD_CG/cgroup.events" 2>/dev/null && break
        sleep 0.05
    done
    find "$SD_CG" -depth -type d -exec rmdir {} \; 2>/dev/null
}
trap systemd_cleanup EXIT

# The capabilities systemd-nspawn leaves a container by default.
SD_CAPS=audit_control,audit_write,chown,dac_override,dac_read_search,fowner,fsetid,ipc_owner
SD_CAPS=$SD_CAPS,kill,lease,linux_immutable,mknod,net_bind_service,net_broadcast,net_raw,setfcap
SD_CAPS=$SD_CAPS,setgid,setpcap,setuid,sys_admin,sys_boot,sys_chroot,sys_nice,sys_ptrace
SD_CAPS=$SD_CAPS,sys_resource,sys_tty_config

# A private /dev at $1: a tmpfs with fresh nodes of the harmless devices (never the
# machine's own /dev or its nodes bound in: what a package script does to them there must
# not reach this machine's /dev).
dev_private() {
    mount -t tmpfs -o mode=755,nosuid tmpfs "$1" || fail "cannot mount a tmpfs at $1"
    mknod -m 666 "$1/null" c 1 3 && mknod -m 666 "$1/zero" c 1 5 &&
        mknod -m 666 "$1/full" c 1 7 && mknod -m 666 "$1/random" c 1 8 &&
        mknod -m 666 "$1/urandom" c 1 9 && mknod -m 666 "$1/tty" c 5 0 ||
        fail "cannot make device nodes in $1"
}

# A private /dev for the container, with a console and pseudo-terminals of its own.
systemd_dev() {
    dev_private "$R/dev"
    : >"$T/console"
    touch "$R/dev/console"
    mount --bind "$T/console" "$R/dev/console"
    mkdir -p "$R/dev/pts" "$R/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
    ln -s pts/ptmx "$R/dev/ptmx"
    mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
}

systemd_boot() {
    [ -n "${R:-}" ] || fail "systemd_boot: root_make first"
    [ -x "$R/lib/systemd/systemd" ] || fail "no /lib/systemd/systemd"
    umount -l "$R/dev" "$R/proc" "$R/run" 2>/dev/null
    systemd_dev
    printf '[Unit]\nDescription=sluice test: nothing\n' >"$R/etc/systemd/system/sluice-test.target"
    SD_CG=$CG_BASE/sluice-package.$(basename "$T")
    mkdir "$SD_CG" || fail "cannot make cgroup $SD_CG"
    (
        echo "$BASHPID" >"$SD_CG/cgroup.procs" || exit 1
        exec unshare --cgroup --pid --fork bash -c '
            R=$1
            mount -t proc proc "$R/proc" &&
            mount --bind "$R/proc/sys" "$R/proc/sys" && mount -o remount,bind,ro "$R/proc/sys" &&
            mount -t sysfs -o ro sysfs "$R/sys" &&
            mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup" &&
            mount -t tmpfs -o mode=755 tmpfs "$R/run" || exit 1
            exec setpriv --bounding-set=-all,$2 chroot "$R" env -i container=sluice-test \
                /lib/systemd/systemd --system --unit=sluice-test.target' sd "$R" "$(echo ",$SD_CAPS" | sed 's/,/,+/g; s/^,//')"
    ) >"$T/systemd.out" 2>&1 &
    local outer=$!
    disown
    local i
    for ((i = 0; i < 200; i++)); do
        SD_PID=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null | tr -d ' ')
        [ -n "$SD_PID" ] && [ -S "$R/run/systemd/private" ] && break
        kill -0 "$outer" 2>/dev/null || fail "systemd exited: $(cat "$T/systemd.out" "$T/console")"
        sleep 0.05
    done
    [ -S "$R/run/systemd/private" ] || fail "systemd did not come up: $(tail -20 "$T/console")"
    for ((i = 0; i < 600; i++)); do
        case $(in_systemd systemctl is-system-running 2>/dev/null) in
        running | degraded) note "systemd $(in_systemd systemctl --version | head -1 | cut -d' ' -f2) runs as PID 1 of the container (pid $SD_PID here)"; return 0 ;;
        esac
        sleep 0.05
    done
    fail "systemd did not finish booting: $(in_systemd systemctl list-jobs --no-pager 2>&1 | tail -10)"
}

in_systemd() {
    nsenter -t "$SD_PID" -p -r -w "$@"
}
