# The greeting is the hdr220 template (seed metatags %H host, %V version, %T time, %%); the
# Received header names the protocol (ESMTP/SMTP), the client's HELO and IP, our host, the
# queue id and the recipient when there is one.
. "$SCN/lib.sh"

zone_mx rcv "10 mx"
zone_a mx 127.0.0.3
dns_start
sink_start mx 127.0.0.3
conf_set smtpd.hdr220 '"%H ESMTP (NO UCE) %V, 100%% local time %T"'
sluice_start
printf 'QUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^220 sluice\.example ESMTP \(NO UCE\) [^ %]+, 100% local time [A-Z][a-z]{2}, [0-9]+ [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$' "greeting"
inject_swaks a@src.example u1@rcv.example --helo client.example
inject_swaks a@src.example u2@rcv.example,u3@rcv.example --protocol SMTP --helo old.example
wait_until '[ "$(sink_rcpts mx)" -ge 3 ]' 30 "3 recipients at the MX"
grep -A2 '^Received: from client\.example (unknown \[127\.0\.0\.1\])' "$T/sinks/mx"/t.* | grep -q 'by sluice\.example (sluice) with ESMTP id [0-9A-F]\{16\}' ||
    fail "ESMTP Received header: $(grep -h -A2 '^Received: from client' "$T/sinks/mx"/t.*)"
grep -h -A3 '^Received: from client\.example' "$T/sinks/mx"/t.* | grep -q 'for <u1@rcv\.example>;' || fail "recipient in Received"
grep -h -A2 '^Received: from old\.example' "$T/sinks/mx"/t.* | grep -q 'with SMTP id' || fail "SMTP Received header"
