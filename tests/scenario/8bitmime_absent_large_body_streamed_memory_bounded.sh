# 8BITMIME absent, large message (RFC 6152 §3): an 8-bit MIME message of several MB (kept in
# a body file, sent from its mapping) goes to two private Postfix servers without 8BITMIME,
# one with CHUNKING (BDAT) and one without (DATA, dot-stuffed). sluice converts it to
# quoted-printable as it sends it, so its anonymous memory stays far below the message size
# (sampled from /proc/PID/status RssAnon from before the injection until both are sent: the
# peak over the baseline must stay under a quarter of the message; a sanitizer build only
# under its quarantine), and what reaches the smtp-sink behind each Postfix decodes part by
# part to the original text.
. "$SCN/lib.sh"

sink_start after 127.0.0.22
postfix_start bdat 127.0.0.20 'relay_domains = bdat.example' 'relayhost = [127.0.0.22]:25' \
    'smtpd_discard_ehlo_keywords = 8bitmime' 'message_size_limit = 0'
postfix_start data 127.0.0.21 'relay_domains = data.example' 'relayhost = [127.0.0.22]:25' \
    'smtpd_discard_ehlo_keywords = 8bitmime, chunking' 'message_size_limit = 0'
conf_set deliver.relays '( { address = "[127.0.0.20]:25"; destdomains = [ "bdat.example" ]; },
    { address = "[127.0.0.21]:25"; destdomains = [ "data.example" ]; } )'
sluice_start

# the message: a 7-bit part, a large 8-bit UTF-8 part (long lines, "=", trailing blanks,
# lines starting with "."), and a base64 part; the same text is what must come back
python3 - "$T/msg.eml" <<'PY'
import base64, sys
lines = []
i = total = 0
while total < 6 * 1024 * 1024:
    total += 200
    lines.append(("Zeile %d: Gr\u00fc\u00dfe aus K\u00f6ln = 100 \u20ac, caf\u00e9 \u00e0 la cr\u00e8me " % i)
                 + ("\u00e9" * (i % 120)) + (" " if i % 7 == 0 else ""))
    if i % 11 == 0:
        lines.append(".dot line %d" % i)
    i += 1
text = "\r\n".join(lines) + "\r\n"
attach = base64.encodebytes(bytes(range(256)) * 64).decode().replace("\n", "\r\n")
msg = ("MIME-Version: 1.0\r\nSubject: large 8-bit\r\n"
       "Content-Type: multipart/mixed; boundary=\"=_b1\"\r\n\r\n"
       "--=_b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain part\r\n"
       "--=_b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       + text +
       "--=_b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + attach + "--=_b1--\r\n")
open(sys.argv[1], "wb").write(msg.encode())
open(sys.argv[1] + ".text", "wb").write(text.encode())
PY
size=$(stat -c %s "$T/msg.eml")
note "message of $size bytes"

# RssAnon of the daemon every 10 ms until $T/sample.stop appears; the peak goes to the file
: >"$T/sample.run"
python3 - "$SLUICE_PID" "$T/sample" <<'PY' &
import os, sys, time
pid, base = sys.argv[1], sys.argv[2]
def anon():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0
first = peak = anon()
while not os.path.exists(base + ".stop"):
    try:
        peak = max(peak, anon())
    except OSError:
        break
    time.sleep(0.01)
open(base + ".out", "w").write("%d %d\n" % (first, peak))
PY
sampler=$!

python3 - "$T/msg.eml" <<'PY' || fail "injection refused"
import smtplib, sys
body = open(sys.argv[1], "rb").read()
for rcpt in ("a@bdat.example", "b@data.example"):
    s = smtplib.SMTP("127.0.0.1", 2525)
    s.ehlo("client.example")
    code, text = s.mail("sender@src.example", ["BODY=8BITMIME"])
    assert code == 250, (code, text)
    code, text = s.rcpt(rcpt)
    assert code == 250, (rcpt, code, text)
    code, text = s.data(b"Message-ID: <" + rcpt.encode() + b">\r\n" + body)
    assert code == 250, (code, text)
    s.quit()
PY
wait_until '[ "$(log_count "to=<[ab]@(bdat|data)\.example>.*status=")" -ge 2 ]' 120 "an outcome for both"
: >"$T/sample.stop"
wait "$sampler"
read -r anon0 anon_peak <"$T/sample.out"
note "RssAnon: $anon0 kB before, $anon_peak kB at the peak; message $((size / 1024)) kB"
log_has 'to=<a@bdat\.example>, relay=\[127\.0\.0\.20\]:25.*status=sent' || fail "a@bdat.example not sent"
log_has 'to=<b@data\.example>, relay=\[127\.0\.0\.21\]:25.*status=sent' || fail "b@data.example not sent"
expect_eq "$(log_count '8-bit content converted to 7-bit MIME for \[127\.0\.0\.2[01]\]:25')" 2 \
    "conversions logged"
limit=$((size / 4))
# a sanitizer build keeps freed memory in quarantine (up to 256 MB): only bounded there
grep -q __asan_init "$SLUICE" && limit=$((256 * 1024 * 1024))
expect_le $(((anon_peak - anon0) * 1024)) $limit "growth of anonymous memory (bytes) while converting"
grep -q ': < [^ ]*: BDAT [0-9]* LAST' "$(postfix_log bdat)" || fail "the CHUNKING Postfix got no BDAT"
grep -q ': < [^ ]*: DATA' "$(postfix_log data)" || fail "the other Postfix got no DATA"

wait_until '[ "$(sink_msgs after)" -ge 2 ]' 120 "both messages past Postfix"
for f in $(find "$T/sinks/after" -type f -name 't.*'); do
    LC_ALL=C grep -q $'[\x80-\xff]' "$f" && fail "8-bit octets reached a hop without 8BITMIME ($f)"
    python3 - "$f" "$T/msg.eml.text" <<'PY' || fail "$f does not decode to the original"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
want = open(sys.argv[2], "rb").read().decode().replace("\r\n", "\n").rstrip("\n")
parts = list(m.iter_parts())
assert len(parts) == 3, len(parts)
assert parts[0]["Content-Transfer-Encoding"] is None
assert parts[0].get_content().rstrip("\n") == "plain part", parts[0].get_content()
assert parts[1]["Content-Transfer-Encoding"] == "quoted-printable", parts[1]["Content-Transfer-Encoding"]
got = parts[1].get_content().rstrip("\n")
assert got == want, next(i for i in range(min(len(got), len(want))) if got[i] != want[i])
assert all(len(l.rstrip("\r")) <= 76 for l in parts[1].get_payload().split("\n")), "a QP line over 76"
assert parts[2].get_content() == bytes(range(256)) * 64, "the base64 part changed"
PY
done
wait_until queue_empty 30 "empty queue"
