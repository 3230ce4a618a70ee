# smtpd.milters with the real OpenDKIM milter (Debian's opendkim, docs/milter.md), two
# instances in order on inet sockets: the first in sign mode (Mode s; the client 127.0.0.1
# is one of its InternalHosts) signs mail from signer.example, and python3-dkim (an
# independent verifier) verifies that signature with the public key served by the test DNS;
# the second in verify mode (Mode v; 127.0.0.1 is not internal to it) sees the message as
# changed by the first, verifies the signature against the same DNS and adds its
# Authentication-Results header: dkim=pass. A message from a domain OpenDKIM does not sign
# reaches the MX unsigned, with Authentication-Results dkim=none. With a python3-milter peer
# before them that replaces the Subject and the body, and sluice's own dkim.sign (a trusted
# client), both signatures (OpenDKIM's and sluice's, made after every milter's changes)
# verify on the changed message.
. "$SCN/lib.sh"

D="$T/dkim"
mkdir -p "$D"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa.pem" 2>/dev/null
zone_txt s1._domainkey.signer "v=DKIM1; k=rsa; p=$(openssl pkey -in "$D/rsa.pem" -pubout -outform DER | base64 -w0)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa2.pem" 2>/dev/null
zone_txt s2._domainkey.signer "v=DKIM1; k=rsa; p=$(openssl pkey -in "$D/rsa2.pem" -pubout -outform DER | base64 -w0)"
zone_mx dest "10 mx"
zone_mx one "10 mx"
zone_a mx 127.0.0.3
dns_start
# OpenDKIM and dkimpy ask the system resolver: point it at the test DNS (private mount ns).
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
at_exit 'umount /etc/resolv.conf'
sink_start mx 127.0.0.3

opendkim_start() { # NAME PORT MODE INTERNAL: opendkim in the foreground on 127.0.0.1:PORT
    cat >"$D/$1.conf" <<EOF
Syslog no
Mode $3
Socket inet:$2@127.0.0.1
PidFile $D/$1.pid
Domain signer.example
Selector s1
KeyFile $D/rsa.pem
RequireSafeKeys no
Canonicalization relaxed/relaxed
InternalHosts $4
AuthservID $1.example
Nameservers 127.0.0.1
On-NoSignature accept
AlwaysAddARHeader yes
EOF
    bg_start "opendkim-$1" /usr/sbin/opendkim -f -x "$D/$1.conf"
    wait_until "port_open 127.0.0.1 $2" 15 "opendkim $1 on $2"
}
opendkim_start signer 8891 s 127.0.0.1
opendkim_start verifier 8892 v 10.9.9.9
conf_set smtpd.trusted_networks '[ "10.255.255.255/32" ]'
conf_set smtpd.relay_domains '[ "dest.example", "one.example" ]'
conf_set smtpd.milters '[ "inet:127.0.0.1:8891", "inet:127.0.0.1:8892" ]'
sluice_start

long=$(head -c 900 /dev/zero | tr '\0' 'x')
msg() { # FROM-DOMAIN SUBJECT
    printf 'From: "S\303\251nder" <a@%s>\r\nTo: u@dest.example\r\nSubject: %s\r\n  folded over\r\n\tthree lines\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <%s@signer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\303\274\303\237e, 8-bit body  with  spaces   \r\n%s\r\n..dot-stuffed line\r\n\r\n' \
        "$1" "$2" "$2" "$long"
}
{
    printf 'EHLO c.example\r\nMAIL FROM:<a@signer.example> BODY=8BITMIME\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    msg signer.example opendkim-signed
    printf '.\r\nMAIL FROM:<a@other.example> BODY=8BITMIME\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    msg other.example opendkim-unsigned
    printf '.\r\nQUIT\r\n'
} >"$T/in"
smtp_talk "$T/in" >"$T/replies"
[ "$(grep -c '^250 2.0.0 Ok: queued' "$T/replies")" = 2 ] || fail "both accepted: $(tr '\n' '|' <"$T/replies")"
wait_until '[ "$(sink_msgs mx)" -ge 2 ]' 30 "two messages at the MX"

f=$(grep -l '^Subject: opendkim-signed' "$T/sinks/mx"/t.*)
grep -q '^DKIM-Signature:.*d=signer.example' "$f" || grep -A3 '^DKIM-Signature:' "$f" | grep -q 'd=signer.example' ||
    fail "no OpenDKIM signature: $(head -30 "$f")"
/usr/bin/python3 "$SCN/dkimcheck.py" "$f" >"$T/check" || fail "python3-dkim: $(cat "$T/check")"
grep -q '^0 a=rsa-sha256 d=signer.example s=s1 .* pass$' "$T/check" || fail "signature: $(cat "$T/check")"
# the verifier's header, possibly folded: one logical line
ar=$(sed -n '/^Authentication-Results: verifier.example/,/^[^ \t]/p' "$f" | sed '$d' | tr -d '\r\n\t')
case $ar in *"dkim=pass"*"header.d=signer.example"*) ;; *) fail "verify mode: '$ar' in $(head -20 "$f")" ;; esac
echo "signed: $(cat "$T/check"); $ar"

f=$(grep -l '^Subject: opendkim-unsigned' "$T/sinks/mx"/t.*)
grep -q '^DKIM-Signature' "$f" && fail "other.example was signed"
ar=$(sed -n '/^Authentication-Results: verifier.example/,/^[^ \t]/p' "$f" | sed '$d' | tr -d '\r\n\t')
case $ar in *"dkim=none"*) ;; *) fail "unsigned: '$ar'" ;; esac
sluice_alive || fail "sluice died"
sluice_stop

note "a milter's changes, then OpenDKIM's and sluice's signatures"
M=$(mktemp -d /tmp/sluice-milter.XXXXXX) && chmod 755 "$M"
at_exit "rm -rf '$M'"
bg_start milter-edit sh -c "umask 0; exec /usr/bin/python3 '$SCN/milter_peer.py' '$M/edit.sock' eom=bysubject"
wait_until "[ -S '$M/edit.sock' ]" 10 "python3-milter peer"
chmod 0640 "$D/rsa2.pem"
chgrp sluice "$D/rsa2.pem"
conf_set smtpd.trusted_networks '[ "127.0.0.0/8" ]'
conf_set smtpd.milters "[ \"unix:$M/edit.sock\", \"inet:127.0.0.1:8891\", \"inet:127.0.0.1:8892\" ]"
conf_set dkim "{ sign = ( { domain = \"signer.example\"; selector = \"s2\"; key_file = \"$D/rsa2.pem\"; } ); }"
sluice_conf
sluice_start
{
    printf 'EHLO c.example\r\nMAIL FROM:<a@signer.example> BODY=8BITMIME\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    printf 'From: <a@signer.example>\r\nTo: u@dest.example\r\nSubject: edit\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nold body\r\n'
    printf '.\r\nQUIT\r\n'
} >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2.0.0 Ok: queued' "edited message accepted"
wait_until 'grep -lq "^Subject: changed by milter" "$T/sinks/mx"/t.* 2>/dev/null' 30 "edited message at the MX"
f=$(grep -l '^Subject: changed by milter' "$T/sinks/mx"/t.* | head -1)
grep -q '^from the milter' "$f" || fail "body not replaced: $(cat "$f")"
/usr/bin/python3 "$SCN/dkimcheck.py" "$f" >"$T/check2" || fail "python3-dkim after edits: $(cat "$T/check2")"
grep -q 'd=signer.example s=s2 .* pass$' "$T/check2" || fail "sluice's signature: $(cat "$T/check2")"
grep -q 'd=signer.example s=s1 .* pass$' "$T/check2" || fail "OpenDKIM's signature: $(cat "$T/check2")"
echo "after edits: $(tr '\n' ' ' <"$T/check2")"
sluice_alive || fail "sluice died"
