# lib.sh: helpers for sluice's scenario tests. Sourced by every tests/scenario/*.sh (bash).
#
# The runner (tests/scenario/run) starts each test in its own network and pid namespace with
# only lo up, in a fresh directory $T, with $SLUICE, $SCN (this directory) exported. So every
# 127.0.0.0/8 address is ours: DNS on 127.0.0.1:53, sluice on 127.0.0.1:2525, sinks and
# peers on 127.0.0.2 and up, port 25. A test may also be run by hand the same way (from the
# repository root):
#   unshare --net --pid --fork --mount-proc bash -c \
#       'ip link set lo up; T=$(mktemp -d) SCN=$PWD/tests/scenario bash tests/scenario/X.sh'
#
# Conventions: helpers fail the test (fail: message to stderr, exit 1) instead of returning
# errors; tests wait for conditions (wait_until), never for fixed times; every process a
# helper starts is recorded and killed on exit (and the pid namespace kills the rest).
#
# DNS:   zone_mx DOMAIN "PREF HOST"...; zone_a HOST IP; zone_nullmx DOMAIN; zone_rr TEXT;
#        dns_drop SUFFIX (queries time out); dns_servfail SUFFIX; dns_start.
#        Names are relative to the zone "example." unless they end in a dot.
# Sinks: sink_start NAME IP [smtp-sink options]; sink_msgs NAME; sink_rcpts NAME;
#        sink_rcpt_list NAME; sink_txn_rcpts NAME (one line per transaction).
# Peers: peer_start NAME IP[:PORT] [peer.py options]; peer_stat NAME KEY; peer_rcpt_list NAME.
# sluice: conf_set KEY VALUE; sluice_conf; sluice_start; sluice_stop; sluice_kill9;
#        mailq; mailq_count [STATE]; queue_empty; log_has REGEX; log_count REGEX.
# Postfix: postfix_start NAME IP ['main.cf line'...] (a private instance); postfix_log NAME.
# Inject: inject_swaks FROM TO[,TO...] [swaks options]; inject_many [inject.py options];
#        inject_source [smtp-source options];
#        submit FROM RCPT... < message.
set -u
export LC_ALL=C

: "${T:?T (the test directory) must be set}"
: "${SCN:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${SLUICE:=$SCN/../../build/sluice}"
SMTP_PORT=2525
ZONE=example
CONF="$T/sluice.conf"
SLUICE_LOG="$T/sluice.log"
SLUICE_PID=""
SCN_PIDS=()
mkdir -p "$T/dns" "$T/sinks" "$T/peers"
: >"$T/dns/records"
: >"$T/dns/rules"
: >"$T/conf.kv"

# Prints a message and ends the test as failed.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Progress line in the test log.
note() {
    echo "--- $*"
}

# Kills everything this test started (TERM, then KILL for what is left).
scn_cleanup() {
    local pid
    for pid in "${SCN_PIDS[@]}" $SLUICE_PID; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${SCN_PIDS[@]}" $SLUICE_PID; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
}
trap scn_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Runs "$@" in the background with output to $T/NAME.out and records its pid.
bg_start() {
    local name=$1
    shift
    "$@" >"$T/$name.out" 2>&1 &
    SCN_PIDS+=($!)
}

# wait_until 'shell condition' TIMEOUT_S [what]: polls every 50 ms until the condition holds.
wait_until() {
    local cond=$1 limit=$2 what=${3:-$1}
    local deadline=$(($(date +%s%N) / 1000000 + limit * 1000))
    until eval "$cond"; do
        if [ $(($(date +%s%N) / 1000000)) -ge $deadline ]; then
            fail "timed out after ${limit}s waiting for: $what"
        fi
        sleep 0.05
    done
}

# expect_eq GOT WANT WHAT: fails with "WHAT: got X, want Y" unless equal.
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# expect_le GOT MAX WHAT: fails unless GOT <= MAX (integers).
expect_le() {
    [ "$1" -le "$2" ] || fail "$3: got $1, want <= $2"
}

# True when something accepts TCP connections on IP:PORT.
port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# --- DNS: one authoritative zone "example." served by nsd, fronted by dns.py ---------------

# The absolute form of a name: relative names get ".example.".
fqdn() {
    case $1 in *.) echo "$1" ;; *) echo "$1.$ZONE." ;; esac
}

# zone_rr 'owner TTL CLASS TYPE rdata': one raw record line.
zone_rr() {
    echo "$*" >>"$T/dns/records"
}

# zone_a HOST IP: an A record.
zone_a() {
    zone_rr "$(fqdn "$1") 60 IN A $2"
}

# zone_mx DOMAIN "PREF HOST" [...]: the MX set of DOMAIN.
zone_mx() {
    local d=$1 mx
    shift
    for mx in "$@"; do zone_rr "$(fqdn "$d") 60 IN MX ${mx%% *} $(fqdn "${mx#* }")"; done
}

# zone_nullmx DOMAIN: RFC 7505 "0 ." (the domain accepts no mail).
zone_nullmx() {
    zone_rr "$(fqdn "$1") 60 IN MX 0 ."
}

# zone_txt NAME TEXT: a TXT record, TEXT cut into strings of at most 255 bytes (RFC 1035
# 3.3.14; a DKIM key record is longer).
zone_txt() {
    local name=$1 text=$2 strs=""
    while [ -n "$text" ]; do
        strs="$strs \"${text:0:255}\""
        text=${text:255}
    done
    zone_rr "$(fqdn "$name") 60 IN TXT$strs"
}

# dns_drop SUFFIX: queries for SUFFIX and names below it are never answered.
dns_drop() {
    echo "--drop $(fqdn "$1")" >>"$T/dns/rules"
}

# dns_servfail SUFFIX: queries for SUFFIX and names below it get SERVFAIL.
dns_servfail() {
    echo "--servfail $(fqdn "$1")" >>"$T/dns/rules"
}

# Writes nsd.conf and the zone file from the records given so far.
dns_write() {
    local d=$T/dns
    cat >"$d/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@5300
  username: ""
  zonesdir: "$d"
  database: ""
  pidfile: "$d/nsd.pid"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  zonelistfile: "$d/zone.list"
  server-count: 1
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: no
zone:
  name: "$ZONE."
  zonefile: "$ZONE.zone"
EOF
    {
        echo "\$TTL 60"
        echo "$ZONE. 60 IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60"
        echo "$ZONE. 60 IN NS ns.$ZONE."
        echo "ns.$ZONE. 60 IN A 127.0.0.1"
        cat "$d/records"
    } >"$d/$ZONE.zone"
    nsd-checkzone "$ZONE." "$d/$ZONE.zone" >/dev/null || fail "bad zone: $(nsd-checkzone "$ZONE." "$d/$ZONE.zone" 2>&1)"
}

# Starts nsd (127.0.0.1:5300) and the fault-injecting front (127.0.0.1:53); waits for answers.
dns_start() {
    dns_write
    bg_start nsd /usr/sbin/nsd -d -c "$T/dns/nsd.conf"
    # shellcheck disable=SC2046
    bg_start dnsproxy python3 "$SCN/dns.py" proxy --listen 127.0.0.1:53 --upstream 127.0.0.1:5300 \
        $(cat "$T/dns/rules")
    wait_until 'python3 "$SCN/dns.py" query ns.$ZONE A --timeout 0.2 | grep -q "^A 127.0.0.1$"' 30 \
        "nsd answering through dns.py"
}

# dns_query NAME TYPE: prints what the resolver side sees (rcode line, answers).
dns_query() {
    python3 "$SCN/dns.py" query "$1" "$2"
}

# --- smtp-sink -----------------------------------------------------------------------------

# sink_start NAME IP [smtp-sink options]: smtp-sink on IP:25 dumping each transaction to
# one file in $T/sinks/NAME/ (X-Rcpt-Args lines are that transaction's recipients).
sink_start() {
    local name=$1 ip=$2
    shift 2
    mkdir -p "$T/sinks/$name"
    bg_start "sink-$name" /usr/sbin/smtp-sink -u root "$@" -d "$T/sinks/$name/t." "$ip:25" 256
    wait_until "port_open $ip 25" 10 "smtp-sink $name on $ip:25"
}

# Number of transactions (dump files) sink NAME received. smtp-sink creates a dump file at
# MAIL and writes it as the transaction goes on, so a file still open in any process (the
# scenario has its own pid namespace) is a transaction in progress and is not counted.
sink_msgs() {
    local open
    open=$(find /proc/[0-9]*/fd -lname "$T/sinks/$1/t.*" -printf '%l\n' 2>/dev/null | sort -u)
    find "$T/sinks/$1" -type f -name 't.*' | sort | comm -23 - <(printf '%s\n' "$open" | sed '/^$/d') | wc -l
}

# Number of recipients over all transactions of sink NAME.
sink_rcpts() {
    sink_rcpt_list "$1" | wc -l
}

# Every recipient sink NAME received, one per line, lower-case, without <>, in file order.
sink_rcpt_list() {
    find "$T/sinks/$1" -type f -name 't.*' -exec cat {} + 2>/dev/null |
        sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' | tr '[:upper:]' '[:lower:]'
}

# One line per transaction of sink NAME: its recipients, sorted, separated by spaces.
sink_txn_rcpts() {
    local f
    for f in "$T/sinks/$1"/t.*; do
        [ -f "$f" ] || continue
        sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$f" | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ' |
            sed 's/ $//'
        echo
    done
}

# --- peer.py -------------------------------------------------------------------------------

# peer_start NAME IP[:PORT] [peer.py serve options]: log in $T/peers/NAME.jsonl. More
# addresses for the same server (shared counters, e.g. peak over all): --listen IP:PORT.
peer_start() {
    local name=$1 addr=$2
    shift 2
    case $addr in *:*) ;; *) addr=$addr:25 ;; esac
    rm -f "$T/peers/$name.ready"
    bg_start "peer-$name" python3 "$SCN/peer.py" serve --listen "$addr" \
        --log "$T/peers/$name.jsonl" --ready "$T/peers/$name.ready" "$@"
    case " $* " in *" --refuse "*) return 0 ;; esac
    wait_until "[ -e '$T/peers/$name.ready' ]" 10 "peer $name on $addr"
}

# peer_stat NAME KEY: one total from `peer.py report` (conns, peak, messages, rcpts, ...).
peer_stat() {
    [ -f "$T/peers/$1.jsonl" ] || { echo 0; return; }
    python3 "$SCN/peer.py" report "$T/peers/$1.jsonl" | sed -n "s/^$2=//p"
}

# Every recipient peer NAME accepted in a delivered message, one per line.
peer_rcpt_list() {
    [ -f "$T/peers/$1.jsonl" ] || return 0
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "msg":
        print("\n".join(r["rcpts"]))' "$T/peers/$1.jsonl"
}

# --- sluice --------------------------------------------------------------------------------

# conf_set KEY VALUE: a config setting; KEY is dotted (deliver.client.maxpipeline), VALUE is
# libconfig text ('"1s"', '5', '[ "a" ]', '( { ... } )', newlines allowed). A later call for a
# key wins.
conf_set() {
    printf '%s\t%s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')" >>"$T/conf.kv"
}

# The test defaults; tests override them with conf_set before sluice_conf.
conf_defaults() {
    conf_set spool "\"$T/spool\""
    conf_set hostname '"sluice.example"'
    conf_set smtpd.listen "[ \"127.0.0.1:$SMTP_PORT\" ]"
    conf_set resolver.forwarders '[ "127.0.0.1@53" ]'
    conf_set deliver.delay_start '"0"'
    conf_set deliver.interval_low '"50"'
    conf_set deliver.interval_high '"200"'
    conf_set deliver.interval_error '"1s"'
    conf_set deliver.interval '"1s"'
    conf_set deliver.retries '"1"'
}
conf_defaults

# Writes $CONF (libconfig) from the settings: nested groups from the dotted keys.
sluice_conf() {
    python3 - "$T/conf.kv" >"$CONF" <<'EOF' || fail "cannot write config"
import sys
tree = {}
for line in open(sys.argv[1]):
    key, _, value = line.rstrip("\n").partition("\t")
    node, parts = tree, key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node.pop(parts[-1], None)
    node[parts[-1]] = value
def emit(node, depth):
    pad = "    " * depth
    for k, v in node.items():
        if isinstance(v, dict):
            print(f"{pad}{k} = {{")
            emit(v, depth + 1)
            print(f"{pad}}};")
        else:
            print(f"{pad}{k} = {v};")
emit(tree, 0)
EOF
}

# Runs `sluice run` in the background (log: $SLUICE_LOG) and waits for its SMTP port.
sluice_start() {
    [ -x "$SLUICE" ] || fail "no sluice binary at $SLUICE (make first)"
    [ -f "$CONF" ] || sluice_conf
    local out
    out=$("$SLUICE" check-config -c "$CONF" 2>&1) || fail "check-config: $out"
    echo "=== sluice run $(date +%T.%N)" >>"$SLUICE_LOG"
    "$SLUICE" run -c "$CONF" >>"$SLUICE_LOG" 2>&1 &
    SLUICE_PID=$!
    wait_until 'sluice_alive || fail "sluice exited: $(tail -5 "$SLUICE_LOG")"; port_open 127.0.0.1 $SMTP_PORT' \
        20 "sluice listening on 127.0.0.1:$SMTP_PORT"
}

# True while the daemon started by sluice_start runs.
sluice_alive() {
    [ -n "$SLUICE_PID" ] && kill -0 "$SLUICE_PID" 2>/dev/null
}

# SIGTERM, then waits (20 s at most) for the daemon to exit; it must exit 0.
sluice_stop() {
    sluice_alive || fail "sluice is not running"
    kill -TERM "$SLUICE_PID"
    wait_until '! sluice_alive' 20 "sluice exiting after SIGTERM"
    local rc=0
    wait "$SLUICE_PID" || rc=$?
    SLUICE_PID=""
    expect_eq "$rc" 0 "sluice exit status after SIGTERM"
}

# SIGKILL: no chance to flush or clean anything.
sluice_kill9() {
    sluice_alive || fail "sluice is not running"
    kill -KILL "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=""
}

# mq: runs `sluice mailq --tsv` (one line per recipient) into $T/mailq.txt in the current shell (fails the test if it fails).
mq() {
    "$SLUICE" mailq --tsv -c "$CONF" >"$T/mailq.txt" 2>"$T/mailq.err" ||
        fail "sluice mailq failed: $(cat "$T/mailq.err")"
}

# The queue as `sluice mailq --tsv` prints it.
mailq() {
    mq
    cat "$T/mailq.txt"
}

# mailq_count [STATE]: queued recipients (in STATE).
mailq_count() {
    mq
    awk -F'\t' -v s="${1:-}" 's == "" || $5 == s' "$T/mailq.txt" | grep -c .
}

# mailq_field RCPT N: field N (1-based) of RCPT's mailq line (RCPT with or without <>).
mailq_field() {
    mq
    awk -F'\t' -v r="$1" -v n="$2" 'BEGIN { r = tolower(r) }
        tolower($4) == r || tolower($4) == "<" r ">" { print $n; exit }' "$T/mailq.txt"
}

# True when mailq prints nothing.
queue_empty() {
    mq
    [ ! -s "$T/mailq.txt" ]
}

# log_has REGEX: true when a sluice log line matches (extended regex).
log_has() {
    grep -Eq -- "$1" "$SLUICE_LOG" 2>/dev/null
}

# log_count REGEX: number of matching sluice log lines.
log_count() {
    grep -Ec -- "$1" "$SLUICE_LOG" 2>/dev/null
}

# --- injection -----------------------------------------------------------------------------

# inject_swaks FROM TO[,TO...] [swaks options]: one message; must be accepted.
inject_swaks() {
    local from=$1 to=$2
    shift 2
    swaks --server "127.0.0.1:$SMTP_PORT" --helo inject.example --from "$from" --to "$to" \
        --silent 2 "$@" >"$T/swaks.out" 2>&1 || fail "swaks $from -> $to: $(cat "$T/swaks.out")"
}

# inject_many [inject.py options]: many messages (see inject.py); all must be accepted.
inject_many() {
    python3 "$SCN/inject.py" --server "127.0.0.1:$SMTP_PORT" "$@" >"$T/inject.out" 2>&1 ||
        fail "inject.py $*: $(tail -5 "$T/inject.out")"
}

# inject_source [smtp-source options]: Postfix's smtp-source against sluice (e.g. -s 4 -m 100
# -f FROM -t TO; -r N adds numbered recipients); every reply must be positive.
inject_source() {
    smtp-source -M inject.example "$@" "127.0.0.1:$SMTP_PORT" >"$T/smtp-source.out" 2>&1 ||
        fail "smtp-source $*: $(tail -5 "$T/smtp-source.out")"
}

# submit FROM RCPT... < message: `sluice submit`; must exit 0.
submit() {
    local from=$1
    shift
    "$SLUICE" submit -c "$CONF" -f "$from" "$@" >"$T/submit.out" 2>&1 ||
        fail "sluice submit -f $from $*: $(cat "$T/submit.out")"
}

# --- reliability helpers (faultpeer.py, memory, sanitizer reports) --------------------------
# faultpeer_start NAME IP[:PORT] FAULT: faultpeer.py committing FAULT on every connection
#        (log $T/peers/NAME.jsonl); faultpeer_opened NAME / faultpeer_ended NAME: connections.
# sluice_vmhwm: peak RSS of the running daemon in kB (VmHWM).
# fault_mx_defers FAULT NRCPT LAST_REGEX: the whole fault scenario (see below).
# At exit, when $SLUICE is a sanitizer build (or reports exist), the test fails if the sluice
# log or a report file holds "ERROR: AddressSanitizer", "ERROR: LeakSanitizer" or
# "runtime error" (UBSan).

# faultpeer_start NAME IP[:PORT] FAULT [faultpeer.py options]
faultpeer_start() {
    local name=$1 addr=$2 fault=$3
    shift 3
    case $addr in *:*) ;; *) addr=$addr:25 ;; esac
    rm -f "$T/peers/$name.ready"
    bg_start "faultpeer-$name" python3 "$SCN/faultpeer.py" --listen "$addr" --fault "$fault" \
        --log "$T/peers/$name.jsonl" --ready "$T/peers/$name.ready" "$@"
    wait_until "[ -e '$T/peers/$name.ready' ]" 10 "faultpeer $name on $addr"
}

# Connections faultpeer NAME saw start / end.
faultpeer_opened() {
    grep -c '"type": "open"' "$T/peers/$1.jsonl" 2>/dev/null || true
}
faultpeer_ended() {
    grep -c '"type": "end"' "$T/peers/$1.jsonl" 2>/dev/null || true
}

# Peak resident set of the daemon in kB (VmHWM in /proc/PID/status); 0 when not running.
sluice_vmhwm() {
    sluice_alive || { echo 0; return; }
    awk '/^VmHWM:/ { print $2 }' "/proc/$SLUICE_PID/status" 2>/dev/null || echo 0
}

# sluice_answers: the daemon is alive and greets with 220 on a new connection.
sluice_answers() {
    sluice_alive || return 1
    python3 - "$SMTP_PORT" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
g = s.recv(512)
s.sendall(b"QUIT\r\n")
sys.exit(0 if g.startswith(b"220") else 1)
PYEOF
}

# fault_mx_defers FAULT NRCPT LAST_REGEX [BODY_LINES]: the only MX of fault.example is faultpeer.py
# committing FAULT; a message to NRCPT recipients there (and, to show delivery goes on, one
# to ok.example at a sink). Each fault recipient must end deferred in mailq with a LAST reply
# matching LAST_REGEX (extended, case-insensitive), with a status=deferred log line and no
# sent/bounced one; every connection the faultpeer saw must be closed; the daemon must stay
# up and still deliver (a second message to ok.example arrives).
fault_mx_defers() {
    local fault=$1 n=$2 want=$3 lines=${4:-3000} rcpts="" i r last
    zone_mx fault "10 mx"
    zone_a mx 127.0.0.40
    zone_mx ok "10 okmx"
    zone_a okmx 127.0.0.41
    dns_start
    faultpeer_start mx 127.0.0.40 "$fault"
    sink_start ok 127.0.0.41
    conf_set deliver.client.timeout '"2s"'
    conf_set deliver.interval '"1m"'
    sluice_start
    for i in $(seq 1 "$n"); do rcpts="$rcpts${rcpts:+,}f$i@fault.example"; done
    yes 'body line of sixty characters .............................' | head -n "$lines" >"$T/body.txt"
    inject_swaks sender@src.example "$rcpts,o1@ok.example" --body "$T/body.txt"
    for i in $(seq 1 "$n"); do
        r=f$i@fault.example
        wait_until "[ \"\$(mailq_field $r 5)\" = deferred ]" 30 "mailq: $r deferred"
        last=$(mailq_field "$r" 8)
        echo "$last" | grep -Eqi -- "$want" || fail "mailq LAST of $r: got '$last', want /$want/"
        log_has "to=<$r>.*status=deferred" || fail "no log line: to=<$r> ... status=deferred"
        expect_eq "$(log_count "to=<$r>.*status=(sent|bounced)")" 0 "sent/bounced lines for $r"
        note "$r: deferred: $last"
    done
    wait_until '[ "$(faultpeer_opened mx)" -ge 1 ] && [ "$(faultpeer_ended mx)" -eq "$(faultpeer_opened mx)" ]' \
        20 "every connection to the faultpeer closed"
    note "faultpeer connections: $(faultpeer_opened mx) opened, $(faultpeer_ended mx) ended"
    wait_until '[ "$(sink_rcpts ok)" -ge 1 ]' 20 "o1@ok.example at its sink"
    sluice_answers || fail "sluice does not answer SMTP after the fault"
    inject_swaks sender@src.example o2@ok.example
    wait_until '[ "$(sink_rcpts ok)" -ge 2 ]' 20 "o2@ok.example at its sink (delivery goes on)"
    sluice_alive || fail "sluice died"
}

# Where sanitizer runtimes write their reports when the test did not choose: $T/san/san.PID.
# The directory is writable by everyone (sticky): the daemon writes there after it dropped
# root to the sluice user, local delivery children as the recipient.
mkdir -p "$T/san" && chmod 1777 "$T/san"
: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=1:log_path=$T/san/san}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1:log_path=$T/san/san}"
export ASAN_OPTIONS UBSAN_OPTIONS

# Prints the sanitizer reports of this test (sluice log and report files); true if any.
san_reports() {
    local found=1 f
    for f in "$SLUICE_LOG" "$T"/san/san.*; do
        [ -f "$f" ] || continue
        if grep -Eq 'ERROR: (Address|Leak)Sanitizer|Sanitizer has encountered a fatal error|runtime error' "$f"; then
            echo "sanitizer report in $f:" >&2
            grep -E -A 30 'ERROR: (Address|Leak)Sanitizer|Sanitizer has encountered a fatal error|runtime error' "$f" | head -60 >&2
            found=0
        fi
    done
    return $found
}

# The EXIT trap: the cleanup, then the test fails if a sanitizer reported anything.
scn_exit() {
    local rc=$?
    scn_cleanup
    if san_reports; then
        echo "FAIL: sanitizer report (see above)" >&2
        rc=1
    fi
    exit $rc
}
trap scn_exit EXIT

# dns_log: with this set before dns_start, the DNS front logs every query it receives to
# $T/dns/queries ("udp|tcp NAME TYPE VERDICT"); dns_tcp_queries NAME counts TCP queries.
dns_log() {
    echo "--log $T/dns/queries" >>"$T/dns/rules"
}
dns_tcp_queries() {
    grep -c "^tcp $1 " "$T/dns/queries" 2>/dev/null || true
}

# at_exit 'COMMAND': runs COMMAND at the end of the test, after everything it started was
# killed (e.g. umount of a file system the daemon used). Later registrations run first.
SCN_AT_EXIT=()
at_exit() {
    SCN_AT_EXIT=("$1" "${SCN_AT_EXIT[@]}")
}
scn_exit() {
    local rc=$? cmd
    scn_cleanup
    for cmd in "${SCN_AT_EXIT[@]}"; do eval "$cmd" || true; done
    if san_reports; then
        echo "FAIL: sanitizer report (see above)" >&2
        rc=1
    fi
    exit $rc
}

# conf_key_known KEY VALUE: true when `sluice check-config` accepts KEY (test defaults plus
# KEY = VALUE); for tests of keys that may not exist yet in the binary under test.
conf_key_known() {
    local kv=$T/conf.kv
    cp "$kv" "$kv.probe"
    printf '%s\t%s\n' "$1" "$2" >>"$T/conf.kv"
    sluice_conf
    local rc=0
    "$SLUICE" check-config -c "$CONF" >/dev/null 2>&1 || rc=1
    mv "$kv.probe" "$kv"
    rm -f "$CONF"
    return $rc
}

# --- raw SMTP client (smtpd and submit scenarios) ------------------------------------------

# smtp_talk FILE [IP] [PORT]: waits for the greeting, sends FILE in one write (the client
# pipelines everything), prints every reply until the server closes (15 s of silence at most, or $SMTP_TALK_TIMEOUT).
smtp_talk() {
    python3 - "$1" "${2:-127.0.0.1}" "${3:-$SMTP_PORT}" <<'PY'
import os, socket, sys
s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
s.settimeout(float(os.environ.get("SMTP_TALK_TIMEOUT", "15")))
out = b""
while b"\r\n" not in out:
    b = s.recv(65536)
    if not b:
        break
    out += b
s.sendall(open(sys.argv[1], "rb").read())
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode("utf-8", "replace").replace("\r\n", "\n"))
PY
}

# expect_reply REGEX WHAT: the last smtp_talk output ($T/replies) has a line matching REGEX.
expect_reply() {
    grep -Eq -- "$1" "$T/replies" || fail "$2: no reply matching '$1' in: $(tr '\n' '|' <"$T/replies")"
}

# --- private Postfix -----------------------------------------------------------------------

# postfix_start NAME IP ['main.cf line'...]: a private Postfix instance (postfix -c
# $T/postfix/NAME/etc with its own queue and data directories; /etc/postfix and the system
# instance are not touched) whose smtpd listens on IP:25 and accepts mail from 127.0.0.0/8.
# It delivers nothing by default: lines such as 'relay_domains = example.net' and
# 'relayhost = [127.0.0.21]:25' (an smtp-sink, say) or 'default_transport = discard' say
# where mail goes. Every peer on 127/8 is a debug peer, so its log (postfix_log NAME) shows
# each command its smtpd received ("< client[ip]: RCPT TO:<...> ORCPT=...") and each one its
# smtp client sent. Its master is stopped with the test. The queue lives in a short
# /tmp/sluice-pf.* directory (Postfix's sockets are in it, and a socket path has at most 107
# bytes), linked as $T/postfix/NAME/queue and removed at exit.
postfix_start() {
    local name=$1 ip=$2 dir=$T/postfix/$1 line keys="" queue
    shift 2
    queue=$(mktemp -d /tmp/sluice-pf.XXXXXX) && chmod 755 "$queue"
    at_exit "rm -rf '$queue'"
    mkdir -p "$dir/etc" "$dir/data"
    ln -s "$queue" "$dir/queue"
    chown postfix:postfix "$dir/data"
    for line in "$@"; do keys="$keys|${line%% *}"; done
    {
        grep -Ev "^(${keys#|}) =" <<EOC
compatibility_level = 3.6
queue_directory = $queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $name.postfix.test
mydomain = postfix.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
relay_domains =
relayhost =
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_peername_lookup = no
alias_maps =
alias_database =
biff = no
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
debug_peer_list = 127.0.0.0/8
minimal_backoff_time = 1s
maximal_backoff_time = 5s
queue_run_delay = 1s
EOC
        for line in "$@"; do echo "$line"; done
    } >"$dir/etc/main.cf"
    # the listener names its address: inet_interfaces accepts only addresses lo carries
    sed "s/^IP:25/$ip:25/" >"$dir/etc/master.cf" <<'EOC'
IP:25     inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
EOC
    # postfix prints its reasons only to a terminal: script(1) gives it one for the message
    postfix -c "$dir/etc" start >/dev/null 2>&1 ||
        fail "postfix $name did not start: $(script -qc "postfix -c '$dir/etc' start" /dev/null)"
    wait_until "[ -s '$queue/pid/master.pid' ]" 10 "postfix $name master"
    SCN_PIDS+=($(tr -d ' ' <"$queue/pid/master.pid"))
    wait_until "port_open $ip 25" 10 "postfix $name smtpd on $ip:25"
}

# The log file of private Postfix NAME.
postfix_log() {
    echo "$T/postfix/$1/maillog"
}

# postfix_listen NAME IP:PORT [-o name=value...]: one more smtpd listener of private Postfix
# NAME (e.g. -o smtpd_tls_wrappermode=yes for implicit TLS on port 465); waits for it.
postfix_listen() {
    local name=$1 addr=$2 dir=$T/postfix/$1
    shift 2
    echo "$addr inet n - n - - smtpd $*" >>"$dir/etc/master.cf"
    postfix -c "$dir/etc" reload >/dev/null 2>&1 || fail "postfix $name reload failed"
    wait_until "port_open ${addr%:*} ${addr##*:}" 10 "postfix $name smtpd on $addr"
}

# --- more peer.py views (scen-tests) -------------------------------------------------------

# peer_msg_rcpt_counts NAME: for every message peer NAME accepted, its number of accepted
# recipients, one line each (written at the end of data: no need to wait for the close).
peer_msg_rcpt_counts() {
    [ -f "$T/peers/$1.jsonl" ] || return 0
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "msg":
        print(len(r["rcpts"]))' "$T/peers/$1.jsonl"
}

# peer_conn_of NAME SUBJECT: the connection number (peer.py's "conn") that carried the
# message with that Subject to peer NAME; empty while none did.
peer_conn_of() {
    [ -f "$T/peers/$1.jsonl" ] || return 0
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "msg" and r["subject"] == sys.argv[2]:
        print(r["conn"])
        break' "$T/peers/$1.jsonl" "$2"
}

# peer_conn_end NAME CONN: how connection CONN of peer NAME ended: "quit" (the client sent
# QUIT), "closed" (it closed without), or empty while the connection is open.
peer_conn_end() {
    [ -f "$T/peers/$1.jsonl" ] || return 0
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "conn" and str(r["conn"]) == sys.argv[2]:
        print("quit" if r["quit"] else "closed")
        break' "$T/peers/$1.jsonl" "$2"
}

# --- TLS certificates and SASL (outbound TLS and AUTH) -------------------------------------
# Certificates and keys are made by the test in $T/tls/ (never committed):
# tls_cert NAME CN [SAN...]: $T/tls/NAME.pem and NAME.key for CN, signed by the test CA
#        ($T/tls/ca.pem, made on first use); SANs "DNS:host" / "IP:addr" (default DNS:CN).
# tls_selfsigned NAME CN: the same, signed by itself (chains to no CA).
# dovecot_auth_start NAME USER:PASS...: a private Dovecot running only its authentication
#        service (passwd-file), client socket at $(dovecot_auth_socket NAME) for Postfix's
#        smtpd_sasl_type = dovecot.
# peer_conn_json NAME: one JSON line per closed connection of peer NAME (tls, auth, ...).

# The test CA (EC P-256, two days).
tls_ca() {
    [ -f "$T/tls/ca.pem" ] && return 0
    mkdir -p "$T/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=sluice test CA" -keyout "$T/tls/ca.key" -out "$T/tls/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        >"$T/tls/openssl.out" 2>&1 || fail "openssl (CA): $(cat "$T/tls/openssl.out")"
}

# tls_cert NAME CN [SAN...]
tls_cert() {
    local name=$1 cn=$2 san
    shift 2
    tls_ca
    san=$(IFS=,; echo "${*:-DNS:$cn}")
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$T/tls/$name.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
        -keyout "$T/tls/$name.key" -out "$T/tls/$name.csr" >"$T/tls/openssl.out" 2>&1 &&
        openssl x509 -req -in "$T/tls/$name.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" \
            -CAcreateserial -days 2 -extfile "$T/tls/$name.ext" -out "$T/tls/$name.pem" \
            >>"$T/tls/openssl.out" 2>&1 || fail "openssl ($name): $(cat "$T/tls/openssl.out")"
    chmod 600 "$T/tls/$name.key"
}

# tls_selfsigned NAME CN
tls_selfsigned() {
    mkdir -p "$T/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$2" -addext "subjectAltName=DNS:$2" -keyout "$T/tls/$1.key" \
        -out "$T/tls/$1.pem" >"$T/tls/openssl.out" 2>&1 ||
        fail "openssl ($1): $(cat "$T/tls/openssl.out")"
    chmod 600 "$T/tls/$1.key"
}

# The directory of private Dovecot NAME (a short /tmp path: it holds sockets).
dovecot_dir() {
    cat "$T/dovecot-$1.dir"
}

# The authentication client socket of private Dovecot NAME.
dovecot_auth_socket() {
    echo "$(dovecot_dir "$1")/auth-client"
}

# dovecot_auth_start NAME USER:PASS...
dovecot_auth_start() {
    local name=$1 dir u
    shift
    dir=$(mktemp -d /tmp/sluice-dc.XXXXXX) && chmod 755 "$dir"
    at_exit "rm -rf '$dir'"
    echo "$dir" >"$T/dovecot-$name.dir"
    for u in "$@"; do echo "${u%%:*}:{PLAIN}${u#*:}"; done >"$dir/passwd"
    cat >"$dir/dovecot.conf" <<EOC
base_dir = $dir/run
state_dir = $dir/state
instance_name = sluice-$name
log_path = $dir/log
protocols = none
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $dir/auth-client {
    mode = 0666
  }
}
EOC
    bg_start "dovecot-$name" dovecot -F -c "$dir/dovecot.conf"
    wait_until "[ -S '$dir/auth-client' ] || ! kill -0 ${SCN_PIDS[-1]} 2>/dev/null" 10 \
        "dovecot $name auth socket"
    [ -S "$dir/auth-client" ] || fail "dovecot $name: $(cat "$T/dovecot-$name.out" "$dir/log" 2>/dev/null)"
}

# dovecot_lmtp_start NAME [PORT] USER...: a private Dovecot LMTP server (dovecot-lmtpd) in a
# short directory of its own: socket DIR/lmtp (and 127.0.0.1:PORT when PORT is a number),
# passwd-file users USER... (all uid nobody; the domain is dropped, as auth_username_format %Ln), mail in maildir:DIR/mail/USER. Unknown users
# get Dovecot's own per-recipient 550. dovecot_dir NAME is DIR; dovecot_fetch reads mail.
dovecot_lmtp_start() {
    local name=$1 dir u inet=""
    shift
    case "${1:-}" in [0-9]*) inet="inet_listener lmtp {
    address = 127.0.0.1
    port = $1
  }"; shift ;; esac
    dir=$(mktemp -d /tmp/sluice-dl.XXXXXX) && chmod 755 "$dir"
    at_exit "rm -rf '$dir'"
    echo "$dir" >"$T/dovecot-$name.dir"
    mkdir -p "$dir/mail" && chown nobody:nogroup "$dir/mail"
    for u in "$@"; do echo "$u:{PLAIN}unused::::::"; done >"$dir/passwd"
    cat >"$dir/dovecot.conf" <<EOC
base_dir = $dir/run
state_dir = $dir/state
instance_name = sluice-$name
log_path = $dir/log
protocols = lmtp
ssl = no
mail_location = maildir:$dir/mail/%u
postmaster_address = postmaster@dovecot.example
auth_username_format = %Ln
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = passwd-file
  args = $dir/passwd
  default_fields = uid=nobody gid=nogroup home=$dir/mail/%u
}
service lmtp {
  unix_listener $dir/lmtp {
    mode = 0666
  }
  $inet
}
EOC
    bg_start "dovecot-$name" dovecot -F -c "$dir/dovecot.conf"
    wait_until "[ -S '$dir/lmtp' ] || ! kill -0 ${SCN_PIDS[-1]} 2>/dev/null" 10 \
        "dovecot $name LMTP socket"
    [ -S "$dir/lmtp" ] || fail "dovecot $name: $(cat "$T/dovecot-$name.out" "$dir/log" 2>/dev/null)"
}

# dovecot_fetch NAME USER: subject and body of every message in USER's mailbox, as doveadm
# fetch prints them.
dovecot_fetch() {
    doveadm -c "$(dovecot_dir "$1")/dovecot.conf" fetch -u "$2" 'hdr.subject body' ALL
}

# The log of private Dovecot NAME.
dovecot_log() {
    echo "$(dovecot_dir "$1")/log"
}

# peer_conn_json NAME: the connection records of peer NAME, one JSON object per line.
peer_conn_json() {
    [ -f "$T/peers/$1.jsonl" ] || return 0
    grep '"type": "conn"' "$T/peers/$1.jsonl" || true
}

# --- TLS: certificates made by the test (openssl req/x509 into $T/tls; never committed) ----

# tls_make_ca [NAME]: a self-signed test CA, $T/tls/NAME.crt and .key (NAME default "ca").
# "ca" is the one test CA of tls_ca (ca.pem, linked as ca.crt), so both families of helpers
# sign with the same CA; other names are CAs of their own ("Test CA NAME").
tls_make_ca() {
    local name=${1:-ca} d=$T/tls
    mkdir -p "$d"
    if [ "$name" = ca ]; then
        tls_ca
        ln -sf ca.pem "$d/ca.crt"
        return
    fi
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/O=sluice tests/CN=Test CA $name" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$d/$name.key" -out "$d/$name.crt" >"$d/$name.log" 2>&1 ||
        fail "openssl: cannot make CA $name: $(tail -3 "$d/$name.log")"
}

# tls_make_cert NAME [rsa|ecdsa] [CA] [CN]: a certificate for CN (default sluice.example; also
# valid for 127.0.0.1) with a random serial, signed by test CA (default "ca", made when
# missing): $T/tls/NAME.crt and NAME.key. The key is 0640 root:sluice, as a key the daemon
# must re-read on SIGHUP after dropping privileges would be.
tls_make_cert() {
    local name=$1 type=${2:-rsa} ca=${3:-ca} cn=${4:-sluice.example} d=$T/tls newkey
    [ -f "$d/$ca.crt" ] || tls_make_ca "$ca"
    case $type in
    rsa) newkey="rsa:2048" ;;
    ecdsa) newkey="ec:$d/$name.param"; openssl ecparam -name prime256v1 -out "$d/$name.param" ;;
    *) fail "tls_make_cert: unknown key type $type" ;;
    esac
    printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$cn" \
        >"$d/$name.ext"
    { openssl req -newkey "$newkey" -nodes -subj "/O=sluice tests/CN=$cn" \
        -keyout "$d/$name.key" -out "$d/$name.csr" &&
        openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" -days 2 \
            -set_serial "0x$(openssl rand -hex 8)" -extfile "$d/$name.ext" -out "$d/$name.crt"
    } >"$d/$name.log" 2>&1 || fail "openssl: cannot make certificate $name: $(tail -3 "$d/$name.log")"
    chgrp sluice "$d/$name.key" 2>/dev/null
    chmod 0640 "$d/$name.key"
}

# tls_serial FILE: the certificate's serial number in upper-case hex (openssl x509 -serial).
tls_serial() {
    openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'
}

# tls_use NAME: smtpd.tls serves certificate NAME (cert_file and key_file).
tls_use() {
    conf_set smtpd.tls "{ cert_file = \"$T/tls/$1.crt\"; key_file = \"$T/tls/$1.key\"; }"
}

# tls_client [s_client options...]: `openssl s_client -quiet` to sluice with STARTTLS (add
# -connect/-starttls to change) that sends stdin (LF -> CRLF) once TLS is up and prints the
# server's replies; its own messages go to $T/s_client.err. 15 s at most.
tls_client() {
    timeout 15 openssl s_client -connect "127.0.0.1:$SMTP_PORT" -starttls smtp -crlf -quiet \
        "$@" 2>"$T/s_client.err"
}

# tls_client_full [s_client options...]: the same without -quiet, stderr included: the
# certificate chain, the session ("New"/"Reused", tickets) and the replies. The session
# lines are written when they arrive, so a reply may start in the middle of a line: grep
# replies unanchored.
tls_client_full() {
    timeout 15 openssl s_client -connect "127.0.0.1:$SMTP_PORT" -starttls smtp -crlf -ign_eof \
        "$@" 2>&1
}

# --- control channel (sluice ctl, docs/admin.md) --------------------------------------------

# ctl ARGS...: `sluice ctl -c $CONF ARGS...`; stdout in $T/ctl.out, stderr in $T/ctl.err;
# returns its exit status (prints nothing).
ctl() {
    "$SLUICE" ctl -c "$CONF" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
}

# ctl_ok ARGS...: ctl that must exit 0.
ctl_ok() {
    ctl "$@" || fail "sluice ctl $*: exit $?: $(cat "$T/ctl.err")"
}

# qid_of RCPT: the queue id of the first delivery log line for RCPT.
qid_of() {
    sed -nE "s/.* ([0-9A-F]{16}): to=<$1>.*/\\1/p" "$SLUICE_LOG" | head -1
}

# ctl_where QID RCPT: where RCPT of QID is (waiting, active, held, paused, done), from
# `ctl show QID --json`; "gone" when the daemon does not know QID.
ctl_where() {
    ctl show "$1" --json || { echo gone; return; }
    python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
print(next(r["where"] for r in m["recipients"] if r["address"] == sys.argv[2]))' "$T/ctl.out" "$2"
}

# tls_world: the usual TLS server scenario: domain tls.example whose MX is a sink at
# 127.0.0.3, DNS up, an RSA certificate "server" in smtpd.tls (sluice not started yet).
tls_world() {
    zone_mx tls "10 mx"
    zone_a mx 127.0.0.3
    dns_start
    sink_start mx 127.0.0.3
    tls_make_cert server rsa
    tls_use server
}
