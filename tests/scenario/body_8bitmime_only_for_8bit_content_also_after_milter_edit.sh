# BODY=8BITMIME goes out only for content that holds an 8-bit octet, now that smtpd notes
# 7-bit content as it receives it (MSG_F_7BIT) and smtpc trusts the note instead of scanning:
# through smtpd with a milter (milter_peer.py), to an smtp-sink that offers 8BITMIME,
#   a 7-bit message goes without BODY= (flagged 7-bit at reception),
#   an 8-bit one (DATA, and BDAT) goes with BODY=8BITMIME,
#   a 7-bit one whose body the milter replaces with UTF-8 text goes with BODY=8BITMIME and
#   the milter's 8-bit body (the edit cleared the flag),
#   a 7-bit one the milter leaves alone goes without BODY=.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
dns_start
sink_start mx 127.0.0.20
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M" # the daemon runs as sluice
at_exit "rm -rf '$M'"
MILTER_PEER_LOG="$T/edit.jsonl" bg_start milter-edit sh -c \
    "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/edit.sock' 'eom=bysubject'"
wait_until "[ -S '$M/edit.sock' ]" 10 "milter edit"
conf_set smtpd.relay_domains '[ "one.example" ]'
conf_set smtpd.milters "[ \"unix:$M/edit.sock\" ]"
sluice_start

python3 - <<'PY' || fail "injection refused"
import smtplib
msgs = (("plain7@one.example", "continue", b"plain ascii body\r\n", []),
        ("data8@one.example", "continue", "K\u00f6ln\r\n".encode(), ["BODY=8BITMIME"]),
        ("milter8@one.example", "body8", b"ascii until the milter\r\n", []))
for rcpt, subj, body, opts in msgs:
    s = smtplib.SMTP("127.0.0.1", 2525)
    s.ehlo("client.example")
    code, text = s.mail("sender@src.example", opts)
    assert code == 250, (code, text)
    code, text = s.rcpt(rcpt)
    assert code == 250, (rcpt, code, text)
    code, text = s.data(b"Subject: " + subj.encode() + b"\r\n\r\n" + body)
    assert code == 250, (rcpt, code, text)
    s.quit()
# BDAT (CHUNKING), 8-bit
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example")
assert s.has_extn("chunking")
code, text = s.mail("sender@src.example", ["BODY=8BITMIME"])
assert code == 250, (code, text)
code, text = s.rcpt("bdat8@one.example")
assert code == 250, (code, text)
data = "Subject: continue\r\n\r\ncaf\u00e9 via BDAT\r\n".encode()
s.send(b"BDAT %d LAST\r\n" % len(data) + data)
code, text = s.getreply()
assert code == 250, (code, text)
s.quit()
PY
wait_until '[ "$(sink_msgs mx)" -ge 4 ]' 30 "four messages at the sink"
for r in plain7 data8 milter8 bdat8; do
    f=$(grep -l "^X-Rcpt-Args: <$r@one.example>" "$T"/sinks/mx/t.* | head -n 1)
    [ -n "$f" ] || fail "no dump for $r"
    args=$(grep '^X-Mail-Args:' "$f")
    case $r in
    plain7) want='X-Mail-Args: <sender@src.example>$' ;;
    *) want='X-Mail-Args: <sender@src.example> BODY=8BITMIME$' ;;
    esac
    printf '%s\n' "$args" | grep -q "^$want" || fail "$r: got '$args', want /$want/"
    eval "f_$r=\$f"
done
LC_ALL=C grep -q $'[\x80-\xff]' "$f_plain7" && fail "8-bit octets in the 7-bit message"
grep -q 'Gr..*e vom Milter' "$f_milter8" || fail "the milter's 8-bit body did not arrive: $(cat "$f_milter8")"
grep -q 'ascii until the milter' "$f_milter8" && fail "the replaced body arrived"
LC_ALL=C grep -q $'\xc3\xbc' "$f_milter8" || fail "the milter's body lost its 8-bit octets"
wait_until queue_empty 30 "empty queue"
sluice_alive || fail "sluice died"
