# -O takes the sendmail option names programs pass (IgnoreDots, DeliveryMode, ErrorMode,
# MeToo, SendMimeErrors, EightBitMode); an unknown name or a bad value is refused with a
# clear message and exit 64, and nothing is queued.
. "$SCN/lib.sh"

sluice_conf
for opt in QueueDirectory=/tmp Bogus DeliveryMode=queue ErrorMode=x; do
    rc=0
    printf 'Subject: x\n\ny\n' | "$SLUICE" submit -c "$CONF" -O "$opt" u@x.example >"$T/out" 2>&1 || rc=$?
    expect_eq "$rc" 64 "exit status of -O $opt"
    grep -Eq 'unknown option -O|unsupported option' "$T/out" || fail "-O $opt: $(cat "$T/out")"
done
grep -q 'known: IgnoreDots' "$T/out" || true
printf 'Subject: x\n\ny\n' | "$SLUICE" submit -c "$CONF" -O Bogus=1 u@x.example 2>&1 | grep -q 'known: IgnoreDots' ||
    fail "the refusal does not list the known names"
"$SLUICE" mailq -c "$CONF" >"$T/q.out" 2>&1 || true
grep -q 'u@x.example' "$T/q.out" && fail "a refused submission was queued"
printf 'Subject: x\n\ny\n' | "$SLUICE" submit -c "$CONF" -O IgnoreDots=true -O ErrorMode=print u@x.example ||
    fail "known -O names refused"
true
