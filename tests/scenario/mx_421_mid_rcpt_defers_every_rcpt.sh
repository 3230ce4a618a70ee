# The only MX accepts the first RCPT and answers the second with 421 and closes: every recipient of the transaction is deferred (the accepted one too: no DATA was completed).
# (faultpeer.py --fault rcpt421 is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers rcpt421 3 '421|4\.3\.2|closed|lost'
