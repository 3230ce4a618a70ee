# ETRN (RFC 1985) starts delivery for the domain it names, and only that domain. One message
# to u@one.example and u@two.example, both domains on the same MX (one destination): the MX
# answers each recipient 451 the first time, so both are deferred for an hour. ETRN
# one.example makes u@one.example due and it is delivered; u@two.example stays deferred with
# its one attempt. Had the ETRN made both due, both recipients - one message, one
# destination - would have gone in the same transaction. ETRN two.example then delivers it.
. "$SCN/lib.sh"

zone_mx one "10 mx"
zone_mx two "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20 --tempfail-rcpt '.=451 4.3.0 try again later' --tempfail-times 1
conf_set deliver.interval '"1h"'
sluice_start

inject_swaks sender@src.example u@one.example,u@two.example
wait_until '[ "$(mailq_count deferred)" -eq 2 ]' 30 "both recipients deferred"

# etrn DOMAIN: ETRN over SMTP from 127.0.0.1 (a trusted network); 250 wanted.
etrn() {
    printf 'EHLO c.example\r\nETRN %s\r\nQUIT\r\n' "$1" >"$T/in"
    smtp_talk "$T/in" >"$T/replies"
    expect_reply "^250 2\.0\.0 Queuing for node $1 started" "ETRN $1"
}

etrn one.example
wait_until '[ "$(peer_stat mx messages)" -ge 1 ]' 20 "u@one.example at the MX"
expect_eq "$(peer_rcpt_list mx)" "u@one.example" "recipients delivered at the MX after ETRN one.example"
log_has 'flush: 1 recipients for one\.example made due' || fail "no log line: flush: 1 recipients for one.example"
expect_eq "$(mailq_field u@two.example 5)" deferred "state of u@two.example"
expect_eq "$(mailq_field u@two.example 6)" 1 "attempts of u@two.example"
expect_eq "$(log_count 'to=<u@two\.example>')" 1 "delivery log lines of u@two.example"

etrn two.example
wait_until '[ "$(peer_stat mx messages)" -ge 2 ]' 20 "u@two.example at the MX"
wait_until queue_empty 20 "empty queue"
expect_eq "$(peer_rcpt_list mx | tr '\n' ' ')" "u@one.example u@two.example " "recipients at the MX"
