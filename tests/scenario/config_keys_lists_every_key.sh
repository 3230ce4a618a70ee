# `sluice config-keys` prints every configuration key, one line each with five tab-separated
# fields (key, type, default, bounds, description), exactly as the golden file
# tests/golden/config-keys.txt (the unit test test_conf checks the same text against the key
# table); an argument is a usage error (exit 64).
. "$SCN/lib.sh"

out=$("$SLUICE" config-keys) || fail "config-keys: exit $?, want 0"
echo "$out" >"$T/keys.txt"
diff -u "$SCN/../golden/config-keys.txt" "$T/keys.txt" >"$T/keys.diff" ||
    fail "config-keys output differs from tests/golden/config-keys.txt: $(head -20 "$T/keys.diff")"
bad=$(awk -F'\t' 'NF != 5' "$T/keys.txt" | head -3)
expect_eq "$bad" "" "lines without exactly five fields"
for key in spool smtpd.max_hops deliver.client.remotenets[].ip deliver.relays[].address \
    deliver.audit.rot; do
    awk -F'\t' -v k="$key" '$1 == k { found = 1 } END { exit !found }' "$T/keys.txt" ||
        fail "config-keys: got no line for $key"
done
rc=0
"$SLUICE" config-keys extra >"$T/usage.out" 2>&1 || rc=$?
expect_eq "$rc" 64 "exit status with an argument"
