# sendmail -v (seed 002: the process stays and prints the delivery trace until "scheduler
# done"): after storing, it prints each recipient's state changes (here a deferral with its
# reply) and ends when every recipient is final or the message has left the queue.
. "$SCN/lib.sh"

zone_mx vv "10 mx"
zone_a mx 127.0.0.3
dns_start
peer_start mx 127.0.0.3 --tempfail-rcpt 'later@.*=451 4.3.0 try later' --tempfail-times 1
sluice_start
printf 'Subject: v\n\nbody\n' | timeout 60 "$SLUICE" submit -c "$CONF" -v -f a@src.example good@vv.example later@vv.example >"$T/v.out" 2>&1 ||
    fail "submit -v: $(cat "$T/v.out")"
cat "$T/v.out"
grep -q '^sluice: .* queued, following its delivery' "$T/v.out" || fail "no start line"
grep -q '<later@vv\.example>: deferred (.*451' "$T/v.out" || fail "no deferral line"
grep -q '^sluice: .* done' "$T/v.out" || fail "no done line"
