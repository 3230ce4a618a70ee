# The only MX greets with 421: the recipient is deferred (RFC 5321 §4.2.5: 421 = service not available), never bounced.
# (faultpeer.py --fault greet421 is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers greet421 1 '421|4\.3\.2|service not available|greeting'
