# Disk full: the spool lives on a 4 MB tmpfs (mounted in the test's own mount namespace).
# Part A, the file system really full (a ballast file takes every free block; LMDB fails
# its commit with ENOSPC or MDB_MAP_FULL): new messages get 452 4.3.1 (never 5xx; a few 250s
# are allowed only while LMDB still has free pages inside its file), `sluice submit` exits 75
# (EX_TEMPFAIL), a large message (a body file) gets 452 4.3.1 and leaves no file behind, the
# daemon stays up and answers, nothing accepted before is lost, and once
# the ballast is removed new mail is accepted again and everything accepted is delivered.
# Part B, smtpd.min_free_space (SKIP when check-config does not know the key): with less
# free space than the limit, MAIL gets 452 4.3.1 before any content is sent; with space
# freed, MAIL gets 250 again.
. "$SCN/lib.sh"

FS=$T/fs
mkdir -p "$FS"
mount -t tmpfs -o size=4m tmpfs "$FS" || fail "cannot mount a tmpfs on $FS"
at_exit "umount '$FS'"
conf_set spool "\"$FS/spool\""
conf_set deliver.interval '"1s"'
MINFREE=no
if conf_key_known smtpd.min_free_space 0; then
    MINFREE=yes
    conf_set smtpd.min_free_space 0
fi
zone_mx full "10 mx"
zone_a mx 127.0.0.60
dns_start
sluice_start

# Fills the tmpfs with a ballast file (leaving LEAVE_KB kB) and prints the free kB.
fill() {
    local leave=${1:-0} avail
    avail=$(df -k --output=avail "$FS" | tail -1)
    if [ "$leave" -gt 0 ]; then
        dd if=/dev/zero of="$FS/ballast" bs=1k count=$((avail - leave)) 2>/dev/null
    else
        dd if=/dev/zero of="$FS/ballast" bs=4k 2>/dev/null
    fi
    df -k --output=avail "$FS" | tail -1
}

note "part A: the MX is down, 10 messages accepted while space is left"
python3 "$SCN/smtptry.py" --count 10 --size 20000 --rcpt a@full.example --tag before >"$T/before.out"
expect_eq "$(grep -c ' accepted 250' "$T/before.out")" 10 "messages accepted before the disk filled"
# Nearly full first: statvfs still shows room for one message, so the space check passes
# and LMDB's commit is what fails (ENOSPC / MDB_MAP_FULL), then completely full.
note "free after ballast: $(fill 48) kB"
python3 "$SCN/smtptry.py" --count 6 --size 20000 --rcpt a@full.example --tag nearly >"$T/full.out"
rm -f "$FS/ballast"
note "free after ballast: $(fill) kB"
python3 "$SCN/smtptry.py" --count 12 --size 20000 --rcpt a@full.example --tag full >>"$T/full.out"
cat "$T/full.out"
accepted_full=$(grep -c ' accepted 250' "$T/full.out")
[ "$(grep -Ec ' (refused [a-z]+ 5|error)' "$T/full.out")" -eq 0 ] || fail "5xx or connection error while the disk is full"
[ "$(grep -Evc ' accepted 250| refused (mail|rcpt|data|dot) 452 4\.3\.1' "$T/full.out")" -eq 0 ] ||
    fail "replies other than 250 and 452 4.3.1 while the disk is full"
tail -5 "$T/full.out" | grep -v '452 4\.3\.1' && fail "the last 5 tries while full were not all 452 4.3.1"
note "while (nearly) full: $accepted_full accepted, $(grep -c '452 4\.3\.1' "$T/full.out") refused with 452 4.3.1; queue write failures logged: $(log_count 'queue write failed')"
rc=0
# 300 KB: more than the free pages LMDB may still have inside its file (a small message can
# fit there, and is then stored and synced, which is right too)
printf 'Subject: submit while full\n\n%s\n' "$(head -c 300000 /dev/zero | tr '\0' 'q' | fold -w 70)" |
    "$SLUICE" submit -c "$CONF" -f s@src.example sub@full.example >"$T/submit-full.out" 2>&1 || rc=$?
expect_eq "$rc" 75 "sluice submit exit status while the disk is full ($(cat "$T/submit-full.out"))"
# A large message goes to a body file as it arrives (queue/bodyfile.c): the file cannot be
# written, the message gets 452 4.3.1 at its end and no body file is left behind.
python3 "$SCN/smtptry.py" --count 2 --size 300000 --rcpt a@full.example --tag bigfull >"$T/bigfull.out"
cat "$T/bigfull.out"
expect_eq "$(grep -c ' refused [a-z]* 452 4\.3\.1' "$T/bigfull.out")" 2 "large messages refused with 452 4.3.1 while full"
expect_eq "$(ls "$FS/spool/body" | wc -l)" 0 "body files left after the refusals"
sluice_answers || fail "sluice does not answer while the disk is full"
rm -f "$FS/ballast"
python3 "$SCN/smtptry.py" --count 2 --size 20000 --rcpt a@full.example --tag after >"$T/after.out"
expect_eq "$(grep -c ' accepted 250' "$T/after.out")" 2 "messages accepted after space was freed"

if [ $MINFREE = yes ]; then
    note "part B: smtpd.min_free_space = 1 MiB"
    sluice_stop
    conf_set smtpd.min_free_space 1048576
    sluice_conf
    sluice_start
    note "free after ballast: $(fill 512) kB"
    python3 "$SCN/smtptry.py" --count 3 --size 1000 --rcpt a@full.example --tag minfree >"$T/minfree.out"
    cat "$T/minfree.out"
    expect_eq "$(grep -c ' refused mail 452 4\.3\.1' "$T/minfree.out")" 3 "MAIL refused with 452 4.3.1 below min_free_space"
    log_has 'below min_free_space' || fail "no log line about min_free_space"
    rm -f "$FS/ballast"
    python3 "$SCN/smtptry.py" --count 1 --size 1000 --rcpt a@full.example --tag minfree-after >"$T/minfree-after.out"
    expect_eq "$(grep -c ' accepted 250' "$T/minfree-after.out")" 1 "accepted once above min_free_space"
    accepted_full=$((accepted_full + 1))
else
    echo "SKIP part B: check-config does not accept smtpd.min_free_space"
fi

sluice_alive || fail "sluice died"
want=$((10 + accepted_full + 2))
sink_start mx 127.0.0.60
wait_until "[ \"\$(sink_msgs mx)\" -ge $want ]" 60 "$want accepted messages at the MX (got \$(sink_msgs mx))"
wait_until queue_empty 30 "empty queue"
expect_eq "$(sink_msgs mx)" "$want" "messages at the MX"
note "delivered $want messages: 10 before, $accepted_full while full / min_free, 2 after"
