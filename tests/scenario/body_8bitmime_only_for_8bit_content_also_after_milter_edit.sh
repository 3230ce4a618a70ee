# BODY=8BITMIME goes out only for content that holds an 8-bit octet, now that smtpd notes
# 7-bit content as it receives it (MSG_F_7BIT) and smtpc trusts the note instead of scanning:
# through smtpd with a milter (milter_peer.py), to an smtp-sink that offers 8BITMIME,
#   a 7-bit message goes without BODY= (flagged 7-bit at reception),
#   an 8-bit one (DATA, and BDAT) goes with BODY=8BITMIME,
#   a 7-bit one whose body the milter replaces with UTF-8 text goes with BODY=8BITMIME and
#   the milter's 8-bit body (the edit cleared the flag),
#   a 7-bit one the milter leaves alone goes without BODY=;
# and the same for `sendmail` as root (straight into the queue, tools/submit.c) and as a
# user (a drop file, through the pickup): 7-bit without BODY=, 8-bit with BODY=8BITMIME.
# The flag itself is on disk: the same seven kinds of message to a domain whose MX does not
# answer stay queued, and `sluice cat -e` shows "7bit" for exactly the 7-bit ones (and for
# neither the one a milter made 8-bit); so does the new message of an alias expansion
# (fwd7, fwd8 in local.example, each to an address there).
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

zone_mx one "10 mx"
zone_a mx 127.0.0.20
zone_mx later "10 down"
zone_a down 127.0.0.29
dns_start
sink_start mx 127.0.0.20
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M" # the daemon runs as sluice
at_exit "rm -rf '$M'"
MILTER_PEER_LOG="$T/edit.jsonl" bg_start milter-edit sh -c \
    "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/edit.sock' 'eom=bysubject'"
wait_until "[ -S '$M/edit.sock' ]" 10 "milter edit"
conf_set smtpd.relay_domains '[ "one.example" ]'
conf_set smtpd.milters "[ \"unix:$M/edit.sock\" ]"
printf 'fwd7: f7@later.example\nfwd8: f8@later.example\n' >"$T/aliases"
conf_set aliases "[ \"$T/aliases\" ]"
conf_set smtpd.local_domains '[ "local.example" ]'
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/na.out" 2>&1 || fail "newaliases: $(cat "$T/na.out")"
maildrop_bin
sluice_start

python3 - <<'PY' || fail "injection refused"
import smtplib
msgs = []
for d in ("one", "later"):
    msgs += [("plain7@%s.example" % d, "continue", b"plain ascii body\r\n", []),
             ("data8@%s.example" % d, "continue", "K\u00f6ln\r\n".encode(), ["BODY=8BITMIME"]),
             ("milter8@%s.example" % d, "body8", b"ascii until the milter\r\n", [])]
msgs += [("fwd7@local.example", "continue", b"ascii\r\n", []),
         ("fwd8@local.example", "continue", "K\u00f6ln\r\n".encode(), ["BODY=8BITMIME"])]
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
for d in one later; do
    printf 'Subject: root 7\n\nascii\n' | "$T/bin/sendmail" -c "$CONF" -i root7@$d.example ||
        fail "sendmail root7@$d"
    printf 'Subject: root 8\n\nK\303\266ln\n' | "$T/bin/sendmail" -c "$CONF" -i root8@$d.example ||
        fail "sendmail root8@$d"
    as_user "printf 'Subject: user 7\n\nascii\n' | SLUICE_CONF=$CONF $T/bin/sendmail -i user7@$d.example" ||
        fail "sendmail user7@$d"
    as_user "printf 'Subject: user 8\n\nK\303\266ln\n' | SLUICE_CONF=$CONF $T/bin/sendmail -i user8@$d.example" ||
        fail "sendmail user8@$d"
done
wait_until '[ "$(sink_msgs mx)" -ge 8 ]' 30 "eight messages at the sink"
log_has 'pickup: .*: queued as' || fail "the user's messages did not come through the pickup"
for r in plain7 data8 milter8 bdat8 root7 root8 user7 user8; do
    f=$(grep -l "^X-Rcpt-Args: <$r@one.example>" "$T"/sinks/mx/t.* | head -n 1)
    [ -n "$f" ] || fail "no dump for $r"
    args=$(grep '^X-Mail-Args:' "$f")
    case $r in
    plain7 | root7 | user7) want='X-Mail-Args: <[^>]*>$' ;;
    *) want='X-Mail-Args: <[^>]*> BODY=8BITMIME$' ;;
    esac
    printf '%s\n' "$args" | grep -q "^$want" || fail "$r: got '$args', want /$want/"
    eval "f_$r=\$f"
done
LC_ALL=C grep -q $'[\x80-\xff]' "$f_plain7" && fail "8-bit octets in the 7-bit message"
grep -q 'Gr..*e vom Milter' "$f_milter8" || fail "the milter's 8-bit body did not arrive: $(cat "$f_milter8")"
grep -q 'ascii until the milter' "$f_milter8" && fail "the replaced body arrived"
LC_ALL=C grep -q $'\xc3\xbc' "$f_milter8" || fail "the milter's body lost its 8-bit octets"
wait_until '[ "$(log_count "to=<[a-z0-9]*@later\.example>.*status=deferred")" -ge 9 ]' 30 \
    "the nine messages to later.example deferred"
expect_eq "$(mailq_count)" 9 "queued recipients (only later.example's)"
for r in plain7 data8 milter8 root7 root8 user7 user8 f7 f8; do
    q=$(mailq_field "$r@later.example" 1)
    [ -n "$q" ] || fail "$r@later.example is not queued: $(mailq)"
    flags=$("$SLUICE" cat -c "$CONF" -e "$q" | sed -n 's/^flags://p')
    case $r in
    *7) want=' 7bit' ;;
    *) want='' ;;
    esac
    expect_eq "$flags" "$want" "stored flags of $r@later.example ($q)"
done
sluice_alive || fail "sluice died"
