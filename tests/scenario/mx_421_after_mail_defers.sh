# The only MX answers MAIL FROM with 421 and closes: deferred, never bounced.
# (faultpeer.py --fault mail421 is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers mail421 1 '421|4\.3\.2'
