# A user who may send (through sluice-postdrop) may not read the queue: `mailq` as sluicetest
# says that only root and the daemon's user can list it and exits 77 (EX_NOPERM); root's
# mailq lists the same queue.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

conf_set deliver.delay_start '"1h"'
maildrop_bin
sluice_start
submit a@src.example u@nowhere.example
rc=0
as_user "$T/bin/mailq -c $CONF" >"$T/q.out" 2>&1 || rc=$?
expect_eq "$rc" 77 "mailq exit status as sluicetest"
grep -q 'only root and the user sluice may list the queue' "$T/q.out" || fail "mailq: $(cat "$T/q.out")"
"$SLUICE" mailq -c "$CONF" | grep -q 'u@nowhere.example' || fail "root's mailq does not list the queue"
