# EHLO lists every extension (PIPELINING SIZE 8BITMIME ENHANCEDSTATUSCODES DSN CHUNKING
# SMTPUTF8 ETRN DELIVERBY HELP); HELP prints the configured lines (seed "PARAM help");
# VRFY and EXPN are disabled: 252 and 502 by default, as configured otherwise; every reply
# after EHLO carries an enhanced status code (RFC 2034).
. "$SCN/lib.sh"

conf_set smtpd.help '[ "-----", "This mail-server is at Yoyodyne Propulsion Inc.", "", "-----" ]'
sluice_start
printf 'EHLO c.example\r\nHELP\r\nVRFY bob\r\nEXPN staff\r\nNOOP\r\nFOO\r\nQUIT\r\n' >"$T/in"
smtp_talk "$T/in" >"$T/replies"
for ext in PIPELINING 'SIZE [0-9]+' 8BITMIME ENHANCEDSTATUSCODES DSN CHUNKING SMTPUTF8 ETRN 'DELIVERBY 60'; do
    expect_reply "^250-$ext\$" "EHLO keyword $ext"
done
expect_reply '^250 HELP$' "EHLO keyword HELP"
expect_reply '^214-2\.0\.0 This mail-server is at Yoyodyne Propulsion Inc\.$' "help line"
expect_reply '^214 2\.0\.0 -----$' "last help line"
expect_reply '^252 2\.5\.0' "VRFY"
expect_reply '^502 5\.5\.1' "EXPN"
grep -Ev '^(220|250-|250 HELP|250 sluice)' "$T/replies" | grep -Evq '^[0-9]{3}[ -][245]\.[0-9]+\.[0-9]+ ' &&
    fail "a reply without enhanced status code: $(grep -Ev '^(220|250-)' "$T/replies" | grep -Ev '^[0-9]{3}[ -][245]\.')"
sluice_stop
conf_set smtpd.vrfy_code 502
conf_set smtpd.expn_code 252
sluice_conf
sluice_start
smtp_talk "$T/in" >"$T/replies"
expect_reply '^502 5\.5\.1 Error: VRFY' "VRFY configured 502"
expect_reply '^252 2\.5\.0 Cannot EXPN' "EXPN configured 252"
