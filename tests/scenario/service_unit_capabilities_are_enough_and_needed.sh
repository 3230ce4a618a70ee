# systemd/sluice.service.in starts the daemon as root with only the capabilities in its
# CapabilityBoundingSet= and NoNewPrivileges=yes. Run the same way (setpriv, the set read
# from the unit), the daemon binds port 25, becomes the user sluice with no capability
# left, delivers mail, and starts again over the spool it owns from the first run. Each
# capability of the set is needed: without any one of them the first or the second start
# fails.
. "$SCN/lib.sh"

UNIT=$SCN/../../systemd/sluice.service.in
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] || fail "no CapabilityBoundingSet= in $UNIT"
grep -qx 'NoNewPrivileges=yes' "$UNIT" || fail "no NoNewPrivileges=yes in $UNIT"
# CAP_NET_BIND_SERVICE CAP_SETUID -> +net_bind_service,+setuid (setpriv's names)
setpriv_caps() {
    local c out=""
    for c in "$@"; do
        c=${c#CAP_}
        out="$out,+${c,,}"
    done
    echo "${out#,}"
}

# A wrapper with the unit's limits for every run of the binary in this test.
REAL=$SLUICE
SLUICE=$T/sluice-unit
printf '#!/bin/sh\nexec setpriv --bounding-set=-all,%s --inh-caps=-all --no-new-privs %s "$@"\n' \
    "$(setpriv_caps $caps)" "$REAL" >"$SLUICE"
chmod 755 "$SLUICE"

zone_mx unit "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
SMTP_PORT=25
conf_set smtpd.listen '[ "127.0.0.1:25" ]'
sluice_conf

for run in 1 2; do
    note "start $run with: $caps"
    sluice_start
    # The log keeps every run's lines: wait for this run's own.
    wait_until '[ "$(log_count "running as user sluice")" -ge $run ]' 10 "privilege drop logged (run $run)"
    expect_eq "$(awk '/^Uid:/ { print $3 }' "/proc/$SLUICE_PID/status")" "$(id -u sluice)" "effective uid"
    expect_eq "$(awk '/^CapEff:/ { print $2 }' "/proc/$SLUICE_PID/status")" 0000000000000000 \
        "effective capabilities after the switch"
    expect_eq "$(awk '/^CapPrm:/ { print $2 }' "/proc/$SLUICE_PID/status")" 0000000000000000 \
        "permitted capabilities after the switch"
    expect_eq "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$SLUICE_PID/status")" 1 "NoNewPrivs"
    inject_swaks someone@src.example "u$run@unit.example"
    wait_until '[ "$(sink_rcpts mx)" -ge '"$run"' ]' 30 "recipient $run at the MX"
    wait_until queue_empty 20 "empty queue"
    sluice_stop
done
expect_eq "$(stat -c '%U %G %a' "$T/spool")" "sluice sluicedrop 710" "spool owner, group and mode"
expect_eq "$(stat -c '%U %G %a' "$T/spool/maildrop")" "sluice sluicedrop 1730" "maildrop owner, group and mode"

# capped_start CAPS CONF LOG: one start with only CAPS; true when the daemon logged its start
# (then it is stopped), false when it exited.
capped_start() {
    setpriv --bounding-set=-all,"$1" --inh-caps=-all --no-new-privs "$REAL" run -c "$2" >"$3" 2>&1 &
    local pid=$!
    wait_until "! kill -0 $pid 2>/dev/null || grep -q ' started: ' '$3'" 20 "start or exit of pid $pid"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid"
        return 0
    fi
    wait "$pid"
    return 1
}

# Each capability left out in turn: a fresh spool, two starts; one of them must fail.
i=0
for drop in $caps; do
    i=$((i + 1))
    rest=()
    for c in $caps; do [ "$c" = "$drop" ] || rest+=("$c"); done
    sed "s|^spool = .*|spool = \"$T/n$i\";|" "$CONF" >"$T/n$i.conf" # short: spool/incoming.sock must fit a unix socket address
    if capped_start "$(setpriv_caps "${rest[@]}")" "$T/n$i.conf" "$T/n$i.log.1" &&
        capped_start "$(setpriv_caps "${rest[@]}")" "$T/n$i.conf" "$T/n$i.log.2"; then
        fail "without $drop the daemon started twice: the unit asks for more than it needs"
    fi
    note "without $drop: $(cat "$T/n$i".log.* | grep -m1 fatal | sed 's/.*fatal: //')"
done
