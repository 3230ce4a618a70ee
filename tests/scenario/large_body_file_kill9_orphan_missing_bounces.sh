# Large contents go to one body file per message beside LMDB (queue/bodyfile.c), and a
# crash loses none of them: 12 messages of ~150 KB (two with lines starting with a dot)
# are accepted while their MX is down, each has its file in spool/body/; sluice is killed
# with SIGKILL; an orphan file (a content written before a crash, never committed) is put
# in body/, and one queued message's file is deleted (a missing file). On restart the
# orphan is removed and logged; the MX comes up; the 11 intact messages arrive whole
# (every line, the dot lines intact), the one whose file is missing fails permanently
# ("5.3.0 message content lost from the queue") and its report reaches the sender; the
# queue and body/ end empty.
. "$SCN/lib.sh"

zone_mx lg "10 mx"
zone_a mx 127.0.0.31
dns_start
sluice_start

inject_many --messages 10 --domains lg.example --sessions 2 --per-conn 5 --lines 8000 \
    --from sender@lg.example
python3 - "$SMTP_PORT" <<'EOF' || fail "dot-line messages not accepted"
import smtplib, sys
lines = "".join((".dot line %d\r\n" if i % 7 == 0 else "plain line %d\r\n") % i
                for i in range(9000))
for n in range(2):
    with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="inject.example") as s:
        s.sendmail("sender@lg.example", ["dots%d@lg.example" % n],
                   "Subject: dots %d\r\n\r\n%s" % (n, lines))
EOF
expect_eq "$(mailq_count)" 12 "queued recipients"
expect_eq "$(ls "$T/spool/body" | wc -l)" 12 "body files in spool/body"

sluice_kill9
printf 'an orphan\r\n' >"$T/spool/body/00000000000ABCDE"
missing=$(ls "$T/spool/body" | grep -v 00000000000ABCDE | head -1)
rm "$T/spool/body/$missing"
note "removed the body file of $missing"

sluice_start
wait_until 'log_has "removed 1 orphan body file"' 10 "the orphan removal logged"
expect_eq "$(ls "$T/spool/body" | grep -c 00000000000ABCDE)" 0 "orphan file left"
sink_start mx 127.0.0.31
wait_until '[ "$(sink_rcpt_list mx | grep -c "^sender@lg.example$")" -ge 1 ]' 60 \
    "the report for the lost message at the sender's MX"
wait_until '[ "$(sink_msgs mx)" -ge 12 ]' 60 "11 messages and the report at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(sink_msgs mx)" 12 "transactions at the MX"
log_has "$missing: cannot read message content from the queue: its body file is missing" ||
    fail "no log line for the missing body file of $missing"
log_has "$missing: to=<.*status=bounced \(5.3.0 message content lost from the queue\)" ||
    fail "no bounce logged for $missing"
whole=0
dots=0
for f in "$T/sinks/mx"/t.*; do
    [ "$(grep -c '^line of body text' "$f")" -eq 8000 ] && whole=$((whole + 1))
    [ "$(grep -c '^\.dot line' "$f")" -eq 1286 ] && [ "$(grep -c '^plain line' "$f")" -eq 7714 ] &&
        dots=$((dots + 1))
done
expect_eq "$((whole + dots))" 11 "messages that arrived with every line"
wait_until '[ "$(ls "$T/spool/body" | wc -l)" -eq 0 ]' 10 "body files removed after delivery"
