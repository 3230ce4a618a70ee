# The macros a python3-milter peer (Sendmail's libmilter) gets at MAIL and RCPT, as Postfix
# sends them by default (postconf -d: milter_mail_macros = i {auth_type} {auth_authen}
# {auth_author} {mail_addr} {mail_host} {mail_mailer}; milter_rcpt_macros = i {rcpt_addr}
# {rcpt_host} {rcpt_mailer}): the queue id i exists from MAIL on and is the id of the
# "250 ... queued as" reply (and of the end of message); after AUTH (TLS, PLAIN, password
# file) {auth_type} and {auth_authen} are the mechanism and the login, {auth_author} the
# decoded mailbox of MAIL's AUTH= parameter. A client that did not authenticate and sent no
# AUTH= gets none of the three; each transaction has its own i.
. "$SCN/lib.sh"

zone_mx far "10 mx"
zone_a mx 127.0.0.3
dns_start
peer_start mx 127.0.0.3
tls_make_cert server rsa
tls_use server
printf 'alice:%s\n' "$(openssl passwd -6 'correct horse')" >"$T/passwd"
chgrp sluice "$T/passwd" 2>/dev/null
chmod 0640 "$T/passwd"
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M" # the daemon runs as sluice
at_exit "rm -rf '$M'"
MILTER_PEER_LOG="$T/macros.jsonl" bg_start milter-macros sh -c \
    "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/macros.sock' 'eom=continue'"
wait_until "[ -S '$M/macros.sock' ]" 10 "milter"
conf_set smtpd.trusted_networks '[ "127.0.0.0/8" ]'
conf_set smtpd.auth "{ backend = \"file\"; path = \"$T/passwd\"; }"
conf_set smtpd.milters "[ \"unix:$M/macros.sock\" ]"
sluice_start

note "authenticated, AUTH= given: i, {auth_type}, {auth_authen}, {auth_author} at MAIL"
python3 - "$SMTP_PORT" >"$T/auth.out" 2>&1 <<'PY' || fail "smtplib: $(cat "$T/auth.out")"
import smtplib, ssl, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.starttls(context=ssl._create_unverified_context())
s.login("alice", "correct horse")
s.ehlo()
s.mail("alice@src.example", ["AUTH=alice+2Btag@src.example"])
s.rcpt("u1@far.example")
code, reply = s.data(b"Subject: authenticated\r\n\r\nbody\r\n")
print(code, reply.decode())
s.quit()
PY
Q1=$(sed -n 's/^250 2.0.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/auth.out")
[ -n "$Q1" ] || fail "no queue id: $(cat "$T/auth.out")"

note "no AUTH, no AUTH=: no auth macros; two transactions, two ids"
printf 'EHLO client.test\r\nMAIL FROM:<b@src.example>\r\nRCPT TO:<u2@far.example>\r\nDATA\r\nSubject: plain 1\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@src.example>\r\nRCPT TO:<u3@far.example>\r\nDATA\r\nSubject: plain 2\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
Q2=$(sed -n 's/^250 2.0.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/replies" | tr '\n' ' ')
expect_eq "$(echo $Q2 | wc -w)" 2 "two messages queued"
wait_until '[ "$(wc -l <"$T/macros.jsonl")" -ge 3 ]' 20 "three messages seen by the milter"

python3 - "$T/macros.jsonl" "$Q1" $Q2 <<'PY' || fail "macros: $(cat "$T/macros.jsonl")"
import json, sys
seen = [json.loads(l)["seen"] for l in open(sys.argv[1])]
ids = sys.argv[2:]
for m, qid in zip(seen, ids):
    assert m["mail"]["i"] == qid, ("i at MAIL", m["mail"], qid)
    assert m["rcpt"]["i"] == qid, ("i at RCPT", m["rcpt"], qid)
    assert m["eom"]["i"] == qid, ("i at EOM", m["eom"], qid)
a = seen[0]["mail"]
assert a["{auth_type}"] == "PLAIN" and a["{auth_authen}"] == "alice", a
assert a["{auth_author}"] == "alice+tag@src.example", a
assert a["{mail_addr}"] == "alice@src.example" and a["{mail_mailer}"] == "smtp", a
assert a["{mail_host}"] == "src.example", a
for m in seen[1:]:
    for k in ("{auth_type}", "{auth_authen}", "{auth_author}"):
        assert k not in m["mail"], (k, m["mail"])
r = seen[1]["rcpt"]
assert r["{rcpt_addr}"] == "u2@far.example" and r["{rcpt_host}"] == "far.example", r
assert r["{rcpt_mailer}"] == "smtp", r
PY
wait_until '[ "$(peer_stat mx messages)" -ge 3 ]' 20 "the three messages at the MX"
sluice_alive || fail "sluice died"
