# log.target = "syslog": every line goes as an RFC 3164 datagram with the mail facility
# (<22> mail.info, <20> mail.warning) to the syslog socket (log.path, here a test listener
# in place of /dev/log), with Postfix's program names and line shapes. A day of that log,
# as a syslog daemon writes it, fed to Debian's pflogsumm --syslog-name=sluice gives the
# totals the test produced: received (SMTP and sendmail), delivered, deferred, bounced,
# rejected. fail2ban's postfix filter pattern matches the reject lines.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --reject-rcpt '^bad=550 5.1.1 no such user' \
    --tempfail-rcpt '^later=451 4.3.0 try later'
bg_start syslog python3 -c '
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$T/syslog.sock" "$T/syslog.raw"
wait_until '[ -S "$T/syslog.sock" ]' 10 "the syslog listener"
conf_set log.target '"syslog"'
conf_set log.path "\"$T/syslog.sock\""
conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
conf_set deliver.interval '"1h"'
sluice_start

note "3 delivered over SMTP, 1 over sendmail, 1 deferred, 1 bounced (null sender: no DSN)"
for i in 1 2 3; do inject_swaks s@src.example "good$i@d.example"; done
printf 'Subject: local\n\nx\n' | submit s@src.example good4@d.example
inject_swaks s@src.example later@d.example
inject_swaks '<>' bad@d.example
note "2 rejected RCPTs from an untrusted client"
for i in 1 2; do
    swaks --server 127.0.0.1:"$SMTP_PORT" --local-interface 127.0.0.50 --helo "spam$i.example" \
        -f "spam@spam.example" -t "victim$i@elsewhere.example" --quit-after RCPT >"$T/rej$i.out" 2>&1
    grep -q '<\*\* 554 5.7.1' "$T/rej$i.out" || fail "RCPT $i not refused: $(cat "$T/rej$i.out")"
done
wait_until '[ "$(grep -c "status=sent" "$T/syslog.raw")" -ge 4 ]' 30 "4 deliveries in the syslog"
wait_until 'grep -q "to=<bad@d.example>.*status=bounced" "$T/syslog.raw"' 30 "the bounce"
wait_until 'grep -q "to=<later@d.example>.*status=deferred" "$T/syslog.raw"' 30 "the deferral"
sluice_stop
[ -s "$SLUICE_LOG" ] && grep -q 'sluice/' "$SLUICE_LOG" && fail "mail lines went to stderr too"

note "the datagrams: mail facility, program names"
grep -Eq '^<22>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} sluice/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[127\.0\.0\.1\], tls=none$' "$T/syslog.raw" ||
    fail "no <22> smtpd client= datagram: $(head -5 "$T/syslog.raw")"
grep -Eq '^<22>.* sluice/cleanup\[[0-9]+\]: [0-9A-F]+: message-id=<[^>]+>$' "$T/syslog.raw" || fail "no message-id= line"
grep -Eq '^<22>.* sluice/pickup\[[0-9]+\]: [0-9A-F]+: sender=<s@src\.example>$' "$T/syslog.raw" || fail "no pickup line"
grep -Eq '^<22>.* sluice/qmgr\[[0-9]+\]: [0-9A-F]+: from=<s@src\.example>, size=[0-9]+, nrcpt=1 \(queue active\)$' "$T/syslog.raw" ||
    fail "no qmgr from= line"
grep -Eq '^<22>.* sluice/qmgr\[[0-9]+\]: [0-9A-F]+: removed$' "$T/syslog.raw" || fail "no removed line"
grep -Eq '^<22>.* sluice/smtp\[[0-9]+\]: [0-9A-F]+: to=<good1@d\.example>, relay=mx\.example\[127\.0\.0\.20\]:25, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 .*\), tls=none$' "$T/syslog.raw" ||
    fail "no delivery line in Postfix's shape: $(grep good1 "$T/syslog.raw")"
grep -Eq '^<20>.* sluice\[[0-9]+\]: warning: ' "$T/syslog.raw" || true # warnings use <20> when any

note "fail2ban's postfix filter (mode normal) finds the rejecting client"
python3 - "$T/syslog.raw" <<'PY' || fail "fail2ban pattern: $(grep NOQUEUE "$T/syslog.raw")"
import re, sys
# fail2ban filter.d/postfix.conf, _daemon = postfix(-\w+)?/\w+(?:/smtp[ds])? widened to sluice
pat = re.compile(r"sluice/\w+\[\d+\]: NOQUEUE: reject: RCPT from \S+\[(?P<host>[^\]]+)\]: 554 5\.7\.1 .*; from=<\S*> to=<\S+> proto=ESMTP helo=<\S*>")
hosts = [m.group("host") for m in map(pat.search, open(sys.argv[1])) if m]
assert hosts == ["127.0.0.50", "127.0.0.50"], hosts
PY

note "pflogsumm --syslog-name=sluice over the log as a syslog daemon writes it"
sed -E 's/^<[0-9]+>([A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}) /\1 mailhost /' "$T/syslog.raw" >"$T/mail.log"
pflogsumm --syslog-name=sluice "$T/mail.log" >"$T/pflogsumm.out" 2>&1 || fail "pflogsumm: $(cat "$T/pflogsumm.out")"
sed -n '/^Grand Totals/,/^Per-Hour/p' "$T/pflogsumm.out"
total() { awk -v k="$1" '$2 == k { print $1; exit }' "$T/pflogsumm.out"; }
expect_eq "$(total received)" 6 "pflogsumm received"
expect_eq "$(total delivered)" 4 "pflogsumm delivered"
expect_eq "$(total deferred)" 1 "pflogsumm deferred"
expect_eq "$(total bounced)" 1 "pflogsumm bounced"
expect_eq "$(total rejected)" 2 "pflogsumm rejected"
exit 0
