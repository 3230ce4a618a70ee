# lib.sh: helpers for the installation and packaging tests (tests/package/*.sh, bash).
# The runner (tests/package/run) starts each test in its own mount, network and pid
# namespace, in a fresh directory $T, with $PKG (this directory) and $ROOT (the checkout)
# exported.
#
# fail MSG; note MSG; expect_eq GOT WANT WHAT; expect_file PATH WHAT;
# sluice_version                      the binary's version ("0.1.0")
# root_make                           a throwaway root at $R: the machine's / as the read-only
#                                     lower layer of an overlay (writes to a tmpfs), with
#                                     /proc, /dev, a tmpfs /run, and a policy-rc.d that lets
#                                     no package start a daemon; gone when the test ends
# in_root CMD...                      runs CMD chrooted into $R (output to the test log)
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
    mount --rbind /dev "$R/dev" || fail "cannot bind /dev in $R"
    mount -t tmpfs -o mode=755 tmpfs "$R/run" || fail "cannot mount /run in $R"
    printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
    chmod 755 "$R/usr/sbin/policy-rc.d"
    note "throwaway root at $R (overlay of /, writes to tmpfs)"
}

# Runs a command inside the throwaway root.
in_root() {
    chroot "$R" "$@"
}
