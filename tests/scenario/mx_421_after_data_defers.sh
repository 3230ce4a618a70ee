# The only MX answers DATA with 421 instead of 354 and closes: deferred, never bounced.
# (faultpeer.py --fault data421 is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers data421 1 '421|4\.3\.2'
