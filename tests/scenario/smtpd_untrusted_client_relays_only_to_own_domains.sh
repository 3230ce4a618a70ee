# Policy (seed fulltrustnet/relaytarget): a client outside trusted_networks may send to the
# hostname, local_domains, relay_domains and postmaster; anything else is 554 5.7.1 naming
# the address. A trusted client relays anywhere.
. "$SCN/lib.sh"

conf_set smtpd.trusted_networks '[ "127.0.0.1/32" ]'
conf_set smtpd.local_domains '[ "local.example" ]'
conf_set smtpd.relay_domains '[ "customer.example" ]'
sluice_start
for to in u@local.example u@customer.example u@sluice.example postmaster; do
    inject_swaks a@src.example "$to" --local-interface 127.0.0.50
done
swaks --server 127.0.0.1:2525 --local-interface 127.0.0.50 --from a@src.example --to u@elsewhere.example \
    --quit-after RCPT >"$T/swaks.out" 2>&1 && fail "relaying allowed for an untrusted client"
grep -q '<[~*]* 554 5\.7\.1 <u@elsewhere\.example>: Relay access denied' "$T/swaks.out" ||
    fail "554 does not name the address: $(grep '<[~*]* 5' "$T/swaks.out")"
inject_swaks a@src.example u@elsewhere.example --quit-after RCPT
