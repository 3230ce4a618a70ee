# The man pages sluice(8), sluice.conf(5), sendmail(1) and mailq(1) (`make man`) render
# without a warning (`groff -ww -z`, and `man -l` as a reader sees them), lexgrog finds the
# NAME section of each, and sluice.conf(5) has one entry for every key `sluice config-keys`
# prints (the table the configuration reader uses) with its type, default and bounds, and
# nothing else. scripts/gen-conf-man refuses malformed input instead of writing half a page.
. "$PKG/lib.sh"

make -s -C "$ROOT" man >"$T/make.out" 2>&1 || fail "make man: $(tail -5 "$T/make.out")"
CONF5=$ROOT/build/man/sluice.conf.5
pages="$ROOT/man/sluice.8 $CONF5 $ROOT/man/sendmail.1 $ROOT/man/mailq.1 $ROOT/man/newaliases.1 $ROOT/man/sluice-ctl.8"

for p in $pages; do
    name=$(basename "$p")
    out=$(groff -ww -z -man "$p" 2>&1) || fail "groff $name exited $?: $out"
    [ -z "$out" ] || fail "groff -ww -z $name: $out"
    out=$(MANWIDTH=80 man --warnings=w -l "$p" 2>&1 >"$T/$name.txt") || fail "man -l $name: $out"
    [ -z "$out" ] || fail "man -l $name: $out"
    whatis=$(lexgrog "$p") || fail "lexgrog finds no NAME section in $name: $whatis"
    note "$whatis"
    title=${name%.*}
    case $whatis in *": \"$title - "*) ;; *) fail "NAME of $name: $whatis" ;; esac
    grep -q "sluice $(sluice_version)" "$T/$name.txt" || fail "$name does not name version $(sluice_version)"
done

note "sluice.conf(5) lists every key of sluice config-keys"
"$SLUICE" config-keys >"$T/keys.tsv" || fail "sluice config-keys exited $?"
nkeys=$(grep -c . "$T/keys.tsv")
[ "$nkeys" -ge 50 ] || fail "sluice config-keys printed $nkeys keys"
# Keys of the page: .SS (groups) and the line after each .TP; "\-" back to "-".
sed -n '/^\.SH KEYS/,/^\.SH EXAMPLE/{ /^\.SS /{ s/^\.SS \\&//; p; }; /^\.TP/{ n; s/^\.B \\&//; p; }; }' "$CONF5" |
    sed 's/\\-/-/g' >"$T/page-keys"
cut -f1 "$T/keys.tsv" >"$T/table-keys"
diff "$T/table-keys" "$T/page-keys" >"$T/keys.diff" || fail "keys of sluice.conf(5) differ from sluice config-keys: $(head -20 "$T/keys.diff")"
# Each entry carries the key's type, default, bounds and description: the page's source
# with roff escapes removed, against the table.
awk '/^\.SH KEYS/ { on = 1 } /^\.SH EXAMPLE/ { on = 0 }
    on && /^\.TP/ { getline k; getline t; getline br; getline d; print k "\t" t "\t" d }' "$CONF5" |
    sed -e 's/^\.B //' -e 's/\\&//g' -e 's/\\f[BIP]//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$T/page-entries"
awk -F'\t' '$2 != "group" && $2 != "list of groups" {
    t = $2; if ($3 != "-") t = t ", default " $3; if ($4 != "-") t = t "; " $4
    print $1 "\t" t "\t" $5 }' "$T/keys.tsv" >"$T/table-entries"
diff "$T/table-entries" "$T/page-entries" >"$T/entries.diff" ||
    fail "entries of sluice.conf(5) differ from sluice config-keys: $(head -20 "$T/entries.diff")"
note "$nkeys keys, $(grep -c . "$T/page-entries") entries and $(grep -c '^\.SS' "$CONF5") groups in sluice.conf(5)"

note "gen-conf-man refuses bad input"
printf 'spool\tpath\n' | "$ROOT/scripts/gen-conf-man" "$ROOT/man/sluice.conf.5.in" 1 >/dev/null 2>"$T/gen.err" &&
    fail "gen-conf-man accepted a line of 2 fields"
grep -q "want 5 tab-separated fields" "$T/gen.err" || fail "gen-conf-man error: $(cat "$T/gen.err")"
"$ROOT/scripts/gen-conf-man" "$ROOT/man/sluice.conf.5.in" 1 </dev/null >/dev/null 2>"$T/gen.err" &&
    fail "gen-conf-man accepted no keys"
grep -q "no keys" "$T/gen.err" || fail "gen-conf-man error: $(cat "$T/gen.err")"
exit 0
