# STARTTLS (RFC 3207) with a certificate in smtpd.tls: EHLO offers STARTTLS only before TLS,
# swaks --tls delivers, the Received header says "with ESMTPS" (RFC 3848) and names the
# protocol version and cipher as Postfix does, and the log line of the message has
# tls=VERSION/CIPHER. Without a certificate STARTTLS is neither offered nor accepted (502).
. "$SCN/lib.sh"

tls_world
conf_set smtpd.transcript '"%DIRLOG%transcripts/smtpd-%DT%.log"'
sluice_start

swaks --server "127.0.0.1:$SMTP_PORT" --helo c.example --from a@src.example --to u1@tls.example \
    --tls --tls-verify --tls-ca-path "$T/tls/ca.crt" >"$T/swaks.out" 2>&1 ||
    fail "swaks --tls: $(tail -5 "$T/swaks.out")"
grep -q '^<-  250-STARTTLS' "$T/swaks.out" || fail "EHLO before TLS: no STARTTLS in $(grep '^<-  250' "$T/swaks.out" | tr '\n' '|')"
grep -q '^=== TLS started with cipher TLSv1.3' "$T/swaks.out" || fail "swaks did not start TLS 1.3: $(grep TLS "$T/swaks.out")"
grep -q '^<~  250-STARTTLS' "$T/swaks.out" && fail "STARTTLS offered again under TLS"
grep -q '^<~  250 2\.0\.0 Ok: queued' "$T/swaks.out" || fail "not queued over TLS"
wait_until '[ "$(sink_msgs mx)" -ge 1 ]' 30 "the message at the MX"
f=$(ls "$T/sinks/mx"/t.* | head -1)
python3 - "$f" <<'PY' || fail "Received header: $(sed -n '1,/^$/p' "$f" | head -20)"
import re, sys
text = open(sys.argv[1], "rb").read().decode("latin-1")
hdr = text[text.index("Received: from c.example"):]
first = re.match(r"Received: .*?(?=\r?\n\S)", hdr, re.S).group(0)
want = (r"Received: from \S+ \(unknown \[127\.0\.0\.1\]\)\r?\n"
        r"\t\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)\)\r?\n"
        r"\t\(No client certificate requested\)\r?\n"
        r"\tby sluice\.example \(sluice\) with ESMTPS id ")
sys.exit(0 if re.match(want, first) else 1)
PY
log_has ': client=[^ ]*\[127\.0\.0\.1\], tls=TLSv1\.3/TLS_AES_256_GCM_SHA384$' ||
    fail "no tls= on the message's log line: $(grep 'from=<a@src' "$SLUICE_LOG")"
log_has 'client=\[127\.0\.0\.1\]: TLS established \(STARTTLS\): tls=TLSv1\.3/TLS_AES_256_GCM_SHA384 bits=256 resumed=no ccert=none' ||
    fail "no handshake line: $(grep 'TLS' "$SLUICE_LOG")"

# the transcript's writer thread flushes on its own schedule
wait_until "cat '$T/spool/log/transcripts'/smtpd-*.log 2>/dev/null | grep -Eq ' S[0-9]+ \* TLS TLSv1\.3/TLS_AES_256_GCM_SHA384 ccert=none\$'" \
    10 "the TLS note in the server transcript"

note "plaintext clients are unchanged: tls=none"
inject_swaks a@src.example u2@tls.example
log_has ': client=[^ ]*\[127\.0\.0\.1\], tls=none$' || fail "no tls=none"

note "no certificate: no STARTTLS"
sluice_stop
grep -v '^smtpd.tls	' "$T/conf.kv" >"$T/conf.kv.new" && mv "$T/conf.kv.new" "$T/conf.kv"
rm -f "$CONF"
sluice_start
printf 'EHLO c.example\r\nSTARTTLS\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
grep -q STARTTLS "$T/replies" && ! grep -q '^502' "$T/replies" && fail "STARTTLS offered without a certificate"
expect_reply '^502 5\.5\.1 ' "STARTTLS without a certificate"
true
