# The only MX reads the whole content and answers the final dot with 421: deferred (not delivered, not bounced).
# (faultpeer.py --fault dot421 is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers dot421 1 '421|4\.3\.2'
