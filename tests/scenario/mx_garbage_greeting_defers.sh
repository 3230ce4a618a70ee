# The only MX greets with binary garbage and text that is not SMTP: deferred with a protocol reason, connection closed.
# (faultpeer.py --fault garbage is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers garbage 1 'garbage|invalid|malformed|unparse|bad|protocol|greeting'
log_has 'to=<f1@fault\.example>.*dsn=4\.5\.0, status=deferred' ||
    fail "invalid greeting not logged with dsn=4.5.0: $(grep 'to=<f1@fault' "$SLUICE_LOG")"
