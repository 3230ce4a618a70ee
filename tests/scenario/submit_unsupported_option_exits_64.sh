# Options sluice does not implement print "unsupported option" and exit 64 (EX_USAGE);
# -bp lists the queue like mailq; -q asks the daemon for a queue run.
. "$SCN/lib.sh"

conf_set smtpd.listen '[ "127.0.0.1:2525" ]'
sluice_conf
for opt in -bd -bv -q30m -oQ/tmp -X; do
    rc=0
    "$SLUICE" submit -c "$CONF" "$opt" u@x.example </dev/null >"$T/out" 2>&1 || rc=$?
    expect_eq "$rc" 64 "exit status of $opt"
    grep -q 'unsupported option' "$T/out" || fail "$opt: $(cat "$T/out")"
done
sluice_start
printf 'Subject: q\n\nx\n' | submit a@src.example u@nowhere.example
"$SLUICE" submit -c "$CONF" -bp >"$T/bp.out" 2>&1 || fail "-bp: $(cat "$T/bp.out")"
grep -q 'u@nowhere\.example' "$T/bp.out" || fail "-bp does not list the queue: $(cat "$T/bp.out")"
"$SLUICE" submit -c "$CONF" -q >"$T/q.out" 2>&1 || fail "-q: $(cat "$T/q.out")"
grep -q 'queue run requested' "$T/q.out" || fail "-q: $(cat "$T/q.out")"
