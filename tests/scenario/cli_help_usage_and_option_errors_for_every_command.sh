# Every program name and subcommand: --help prints its usage on stdout (nothing on stderr)
# and exits 0; an option without its argument says "option -X needs an argument", an
# unknown option "unsupported option", both with the usage on stderr and exit 64 (EX_USAGE);
# a missing or unknown command is the usage on stderr with 64.
. "$SCN/lib.sh"

ln -s "$SLUICE" "$T/sendmail"
ln -s "$SLUICE" "$T/mailq"
sluice_conf

# run_cli CMD...: runs CMD, stdout in $T/out, stderr in $T/err, status in $rc.
run_cli() {
    rc=0
    "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
}

for cmd in "$SLUICE" "$SLUICE run" "$SLUICE check-config" "$SLUICE submit" "$SLUICE mailq" \
    "$SLUICE verp-decode" "$SLUICE policy-build" "$SLUICE suppress" "$SLUICE ctl" "$SLUICE cat" "$T/sendmail" \
    "$T/mailq"; do
    note "$cmd --help"
    run_cli $cmd --help
    expect_eq "$rc" 0 "exit status of $cmd --help"
    grep -q '^usage: ' "$T/out" || fail "$cmd --help: no usage on stdout: $(cat "$T/out")"
    [ -s "$T/err" ] && fail "$cmd --help wrote to stderr: $(cat "$T/err")"
    grep -q 'SLUICE_CONF' "$T/out" || fail "$cmd --help does not say where the configuration comes from"
done

# bad CMD... -- WANT: exit 64, WANT on stderr, the usage on stderr, nothing on stdout.
bad() {
    local want=${*: -1}
    run_cli "${@:1:$#-1}"
    expect_eq "$rc" 64 "exit status of ${*:1:$#-1}"
    grep -q -- "$want" "$T/err" || fail "${*:1:$#-1}: got '$(head -1 "$T/err")', want '$want'"
    grep -q '^usage: ' "$T/err" || fail "${*:1:$#-1}: no usage on stderr: $(cat "$T/err")"
    [ -s "$T/out" ] && fail "${*:1:$#-1} wrote to stdout: $(cat "$T/out")"
    return 0
}
bad "$SLUICE" submit -c 'sluice submit: option -c needs an argument'
bad "$T/sendmail" -f 'sendmail: option -f needs an argument'
bad "$T/sendmail" -t -N 'sendmail: option -N needs an argument'
bad "$SLUICE" submit --config 'option --config needs an argument'
bad "$SLUICE" run -c 'sluice run: option -c needs an argument'
bad "$SLUICE" run -x 'sluice run: unsupported option -x'
bad "$SLUICE" check-config -c 'sluice check-config: option -c needs an argument'
bad "$SLUICE" check-config --bogus 'sluice check-config: unsupported option --bogus'
bad "$SLUICE" check-config --help=yes 'option --help takes no argument'
bad "$SLUICE" mailq -c 'sluice mailq: option -c needs an argument'
bad "$T/mailq" -z 'mailq: unsupported option -z'
bad "$SLUICE" verp-decode -d 'sluice verp-decode: option -d needs an argument'
bad "$SLUICE" ctl -c 'sluice ctl: option -c needs an argument'
bad "$SLUICE" ctl -q queue 'sluice ctl: unsupported option -q'
bad "$SLUICE" ctl 'sluice ctl: missing COMMAND'
bad "$SLUICE" ctl --tcp 127.0.0.1:1 queue 'sluice ctl: --tcp and --user go together'
bad "$SLUICE" cat -x 'sluice cat: unsupported option -x'
bad "$SLUICE" cat 'sluice cat: want one queue id'
bad "$SLUICE" policy-build -x 'sluice policy-build: unsupported option -x'
bad "$SLUICE" suppress -x 'sluice suppress: unsupported option -x'
bad "$SLUICE" nosuchcommand 'sluice: unknown command nosuchcommand'
run_cli "$SLUICE"
expect_eq "$rc" 64 "exit status of sluice without a command"
grep -q '^usage: ' "$T/err" || fail "sluice without a command: no usage on stderr: $(cat "$T/err")"
exit 0
