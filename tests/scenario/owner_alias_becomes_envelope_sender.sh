# The owner- convention for lists (Postfix local(8), sendmail): mail to list@<local domain>,
# whose alias expands to remote addresses, leaves with MAIL FROM:<owner-list@myorigin> when
# an alias owner-list exists (so bounces of list mail go to the owner); for an alias without
# an owner- alias the original sender stays. list-request is an ordinary alias.
. "$SCN/lib.sh"

cat >"$T/aliases" <<EOF2
list: a@remote.example, b@remote.example
owner-list: admin@remote.example
list-request: admin@remote.example
plain: c@remote.example
EOF2
conf_set aliases "[ \"$T/aliases\" ]"
conf_set myorigin '"origin.example"'
conf_set smtpd.local_domains '[ "local.example" ]'
conf_set deliver.relays '( { address = "[127.0.0.7]:25"; } )'
sluice_conf
"$SLUICE" newaliases -c "$CONF" >"$T/na.out" 2>&1 || fail "newaliases: $(cat "$T/na.out")"
peer_start smarthost 127.0.0.7
sluice_start

# mail_of SUBJECT: the MAIL FROM of the message with that Subject at the smarthost.
mail_of() {
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "msg" and r["subject"] == sys.argv[2]:
        print(r["mail"], " ".join(sorted(x.lower() for x in r["rcpts"])))' \
        "$T/peers/smarthost.jsonl" "$1"
}

printf 'Subject: to-list\n\nlist mail\n' | submit "someone@src.example" "list@local.example"
printf 'Subject: to-plain\n\nplain mail\n' | submit "someone@src.example" "plain@local.example"
printf 'Subject: to-request\n\nrequest mail\n' | submit "someone@src.example" "list-request@local.example"
wait_until '[ "$(peer_stat smarthost rcpts)" -ge 4 ]' 30 "four recipients at the smarthost"
expect_eq "$(mail_of to-list)" "owner-list@origin.example a@remote.example b@remote.example" "list: sender and recipients"
expect_eq "$(mail_of to-plain)" "someone@src.example c@remote.example" "plain alias: sender and recipients"
expect_eq "$(mail_of to-request)" "someone@src.example admin@remote.example" "list-request: sender and recipients"
wait_until queue_empty 30 "empty queue"
