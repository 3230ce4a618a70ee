# Seed 001 §2.6 VERP: with deliver.verp each recipient gets its own transaction whose
# envelope sender is local+rcpt=domain@domain; `sluice verp-decode` on that sender gives the
# recipient back.
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
dns_start
peer_start mx 127.0.0.20
conf_set deliver.verp 'true'
sluice_start

inject_swaks list@src.example a@d.example,b.c@d.example,x-y@d.example
wait_until '[ "$(peer_stat mx messages)" -ge 3 ]' 30 "three transactions"
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "msg":
        print(r["mail"], " ".join(r["rcpts"]))' "$T/peers/mx.jsonl" > "$T/verp.txt"
n=0
while read -r mail rcpt more; do
    [ -z "$more" ] || fail "more than one recipient in the transaction from $mail: $rcpt $more"
    n=$((n + 1))
    mail=${mail#<}; mail=${mail%>}
    got=$("$SLUICE" verp-decode "$mail") || fail "verp-decode refused $mail"
    expect_eq "$got" "$rcpt" "verp-decode $mail"
    expect_eq "$("$SLUICE" verp-decode -s "$mail" | tail -n 1)" "list@src.example" "sender of $mail"
done < "$T/verp.txt"
expect_eq "$n" 3 "VERP transactions checked"
grep -q 'list+a=d.example@src.example' "$T/verp.txt" || fail "no VERP sender: $(cat "$T/verp.txt")"
