# The only MX drops the connection in the middle of the content (after 1 KiB of a 6 MB message, no reply, while the client is still writing the body): deferred.
# (faultpeer.py --fault dropdata is the only MX; deliver.client.timeout "2s". The recipients end
# deferred in mailq with a sensible last reply, the connection is closed, and the daemon
# stays up and goes on delivering to another domain.)
. "$SCN/lib.sh"

fault_mx_defers dropdata 1 'lost connection.*(body|data|content|message)|reset|broken pipe' 100000
