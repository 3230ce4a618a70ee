# The only MX reads the content and the final dot, then drops the connection without a reply: deferred (the message may have been delivered; RFC 1047: retry and accept a duplicate).
# (faultpeer.py --fault dropfinal is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers dropfinal 1 'clos|lost|reset|eof|drop|connection'
