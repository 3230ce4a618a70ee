# The only MX answers MAIL with a single 64 KiB reply line: the client refuses to buffer it (reply lines are at most 2048 bytes), defers the recipient and closes.
# (faultpeer.py --fault longreply is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers longreply 1 'long|garbage|invalid|malformed|unparse|bad|protocol'
