# A command line over 1000 octets (RFC 5321 4.5.3.1.4) is refused 500 5.5.2 without being
# buffered, and the session goes on; unknown commands are 500 5.5.1.
. "$SCN/lib.sh"

sluice_start
{ printf 'EHLO c.example\r\nMAIL FROM:<'; head -c 5000 /dev/zero | tr '\0' a; printf '@b.example>\r\nNOOP\r\nQUIT\r\n'; } >"$T/in"
smtp_talk "$T/in" >"$T/replies"
expect_reply '^500 5\.5\.2 line too long' "long line"
expect_reply '^250 2\.0\.0 Ok$' "NOOP after it"
expect_reply '^221 2\.0\.0' "QUIT after it"
