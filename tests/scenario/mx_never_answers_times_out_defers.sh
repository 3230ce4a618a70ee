# The only MX accepts the TCP connection and never sends a byte: after deliver.client.timeout (2s) the recipient is deferred with a timeout reason and the connection closed.
# (faultpeer.py --fault silent is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers silent 1 'time.?out|timed'
log_has 'to=<f1@fault\.example>.*dsn=4\.4\.2, status=deferred' ||
    fail "greeting timeout not logged with dsn=4.4.2: $(grep 'to=<f1@fault' "$SLUICE_LOG")"
