# DKIM signing (RFC 6376, RFC 8463): a message from a trusted client whose From: domain has
# two dkim.sign entries gets two signatures, rsa-sha256 and ed25519-sha256, relaxed/relaxed,
# From oversigned; python3-dkim (dkimpy, an independent verifier) verifies both with the
# public keys served by the test DNS, for a message with 8-bit text, long lines and folded
# headers, also when it comes through `sluice submit` (root: signed by submit itself) and
# through a non-root user's sendmail (the maildrop: signed by the daemon at pickup; that
# user cannot read the keys). A From: domain without an entry is not signed. After the key file is replaced and SIGHUP, new mail is signed with the new key.
. "$SCN/lib.sh"
. "$SCN/maildrop.inc"

D="$T/dkim"
mkdir -p "$D"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$D/ed.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa2.pem" 2>/dev/null
# The key records: RSA as SubjectPublicKeyInfo, Ed25519 as its raw 32 bytes (RFC 8463 4.2).
rsa_txt() { echo "v=DKIM1; k=rsa; p=$(openssl pkey -in "$1" -pubout -outform DER | base64 -w0)"; }
ed_p=$(openssl pkey -in "$D/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
zone_txt s1._domainkey.signer "$(rsa_txt "$D/rsa.pem")"
zone_txt e1._domainkey.signer "v=DKIM1; k=ed25519; p=$ed_p"
zone_mx dest "10 mx"
zone_a mx 127.0.0.3
dns_start
# dkimpy asks the system resolver: point it at the test DNS (private mount namespace).
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
at_exit 'umount /etc/resolv.conf'
sink_start mx 127.0.0.3
chmod 0640 "$D"/*.pem
chgrp sluice "$D"/*.pem # the daemon runs as sluice and re-reads the keys on SIGHUP
conf_set dkim "{ sign = ( { domain = \"signer.example\"; selector = \"s1\"; key_file = \"$D/rsa.pem\"; },
  { domain = \"signer.example\"; selector = \"e1\"; key_file = \"$D/ed.pem\"; algorithm = \"ed25519-sha256\"; } ); }"
maildrop_bin
sluice_start

long=$(head -c 990 /dev/zero | tr '\0' 'x')
msg() { # FROM SUBJECT
    printf 'From: "S\303\251nder" <a@%s>\r\nTo: u@dest.example\r\nSubject: %s\r\n  folded over\r\n\tthree lines\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <%s@signer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\303\274\303\237e, 8-bit body  with  spaces   \r\n%s\r\n..dot-stuffed line\r\n\r\n\r\n' \
        "$1" "$2" "$2" "$long"
}
{
    printf 'EHLO c.example\r\nMAIL FROM:<a@signer.example> BODY=8BITMIME\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    msg signer.example smtp-signed
    printf '.\r\nMAIL FROM:<a@other.example> BODY=8BITMIME\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    msg other.example smtp-unsigned
    printf '.\r\nQUIT\r\n'
} >"$T/in"
smtp_talk "$T/in" >"$T/replies"
[ "$(grep -c '^250 2.0.0 Ok: queued' "$T/replies")" = 2 ] || fail "both accepted: $(tr '\n' '|' <"$T/replies")"
msg signer.example submit-signed | submit a@signer.example u@dest.example
grep -q "not signed" "$T/submit.out" && fail "submit did not sign: $(cat "$T/submit.out")"
msg signer.example drop-signed >"$T/drop.eml"
chmod 644 "$T/drop.eml"
as_user "SLUICE_CONF=$CONF $T/bin/sendmail -i u@dest.example <$T/drop.eml" >"$T/sm.out" 2>&1 ||
    fail "sendmail as sluicetest: $(cat "$T/sm.out")"
wait_until '[ "$(sink_msgs mx)" -ge 4 ]' 30 "four messages at the MX"

check() { # SUBJECT: both signatures verify
    local f
    f=$(grep -l "^Subject: $1" "$T/sinks/mx"/t.*)
    /usr/bin/python3 "$SCN/dkimcheck.py" "$f" >"$T/check.$1" || fail "$1: $(cat "$T/check.$1")"
    grep -q '^0 a=rsa-sha256 d=signer.example s=s1 h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:Content-Transfer-Encoding:from pass$' "$T/check.$1" ||
        fail "$1: rsa signature: $(cat "$T/check.$1")"
    grep -q '^1 a=ed25519-sha256 d=signer.example s=e1 .* pass$' "$T/check.$1" ||
        fail "$1: ed25519 signature: $(cat "$T/check.$1")"
    grep -q 'c=relaxed/relaxed' "$f" || fail "$1: not relaxed/relaxed"
    echo "$1: $(tr '\n' ' ' <"$T/check.$1")"
}
check smtp-signed
check submit-signed
check drop-signed
f=$(grep -l '^Subject: smtp-signed' "$T/sinks/mx"/t.*)
sed -n '/^DKIM-Signature/,$p' "$f" | grep -v '^X-' >"$T/plain.eml"
dkimverify <"$T/plain.eml" | grep -q 'signature ok' || fail "dkimverify: $(dkimverify <"$T/plain.eml")"
f=$(grep -l '^Subject: smtp-unsigned' "$T/sinks/mx"/t.*)
grep -q '^DKIM-Signature' "$f" && fail "other.example was signed"
log_has 'dkim: 2 signatures added' || fail "no signing log line"

# Rotation: a new key in the same file, SIGHUP; the next message carries the new key's
# signature (the old record in DNS no longer verifies it, the new one does).
cp "$D/rsa2.pem" "$D/rsa.pem"
kill -HUP "$SLUICE_PID"
wait_until "log_has 'dkim: 2 signing keys reloaded'" 10 "the reload"
msg signer.example rotated | submit a@signer.example u@dest.example
{
    printf 'EHLO c.example\r\nMAIL FROM:<a@signer.example>\r\nRCPT TO:<u@dest.example>\r\nDATA\r\n'
    msg signer.example rotated-smtp
    printf '.\r\nQUIT\r\n'
} >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^250 2\.0\.0 Ok: queued' "rotated message accepted"
wait_until '[ "$(sink_msgs mx)" -ge 6 ]' 30 "the rotated messages at the MX"
f=$(grep -l '^Subject: rotated-smtp' "$T/sinks/mx"/t.*)
/usr/bin/python3 "$SCN/dkimcheck.py" "$f" >"$T/check.old" && fail "old key still verifies: $(cat "$T/check.old")"
rsa_txt "$D/rsa2.pem" >"$D/s1.txt"
echo "v=DKIM1; k=ed25519; p=$ed_p" >"$D/e1.txt"
/usr/bin/python3 "$SCN/dkimcheck.py" "$f" --txt "s1._domainkey.signer.example=$D/s1.txt" \
    --txt "e1._domainkey.signer.example=$D/e1.txt" >"$T/check.new" ||
    fail "new key does not verify: $(cat "$T/check.new")"
echo "rotated: $(tr '\n' ' ' <"$T/check.new")"

# A key that does not fit its algorithm is a check-config error, and a failed reload keeps
# the current keys.
cp "$D/ed.pem" "$D/rsa.pem"
out=$("$SLUICE" check-config -c "$CONF" 2>&1) && fail "check-config accepted an Ed25519 key for rsa-sha256"
echo "$out" | grep -q 'dkim key .*rsa-sha256 needs an RSA key' || fail "check-config: $out"
kill -HUP "$SLUICE_PID"
wait_until "log_has 'the current DKIM keys stay'" 10 "the failed reload"
sluice_stop
