# metrics.listen serves GET /metrics in Prometheus's text format (libevent's evhttp): the
# official parser (python3-prometheus-client's text_string_to_metric_families) reads every
# family; counters (received, recipient outcomes, attempts by destination class), gauges
# (queue by state, sessions, connections per destination, dead destinations) and the
# histograms (delivery latency, accept latency, fsync time, messages per commit) hold the
# numbers of what the test did. Other paths get 404, other methods 405. (Debian's
# /usr/bin/python3: the parser is the python3-prometheus-client package.)
. "$SCN/lib.sh"

zone_mx d "10 mx"
zone_a mx 127.0.0.20
zone_mx down "10 mxdown"
zone_a mxdown 127.0.0.21
zone_mx slow "10 mxslow"
zone_a mxslow 127.0.0.22
dns_start
peer_start slow 127.0.0.22 --delay-ms 1500
sink_start mx 127.0.0.20
conf_set metrics.listen '[ "127.0.0.1:9464" ]'
conf_set deliver.interval '"1h"'
sluice_start
wait_until "log_has 'metrics: listening on 127\\.0\\.0\\.1:9464'" 10 "the metrics listener"
inject_swaks s@src.example u1@d.example
inject_swaks s@src.example u2@d.example,u3@d.example
inject_swaks s@src.example u4@down.example
wait_until '[ "$(sink_rcpts mx)" -ge 3 ]' 20 "3 recipients delivered"
wait_until '[ "$(mailq_count deferred)" -eq 1 ]' 20 "u4 deferred"

/usr/bin/python3 - <<'PY' || fail "metrics check failed"
import urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
r = urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=10)
assert r.status == 200
ctype = r.headers["Content-Type"]
assert ctype.startswith("text/plain; version=0.0.4"), ctype
text = r.read().decode()
fams = {f.name: f for f in text_string_to_metric_families(text)}
def val(name, sample=None, **labels):
    for s in fams[name].samples:
        if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError("no sample %s %s %s" % (name, sample, labels))
print(sorted(fams))
assert fams["sluice_messages_received"].type == "counter"
assert val("sluice_messages_received") == 3, val("sluice_messages_received")
assert val("sluice_recipients", outcome="delivered") == 3
assert val("sluice_recipients", outcome="deferred") == 1
assert val("sluice_recipients", outcome="bounced") == 0
assert val("sluice_delivery_attempts", **{"class": "mx", "result": "ok"}) == 3
assert val("sluice_delivery_attempts", **{"class": "mx", "result": "tempfail"}) == 1
assert fams["sluice_queue_recipients"].type == "gauge"
assert val("sluice_queue_recipients", state="waiting") == 1
assert val("sluice_queue_recipients", state="active") == 0
assert val("sluice_queue_messages") == 1
assert val("sluice_destinations_dead") == 1, val("sluice_destinations_dead")
assert val("sluice_smtpd_sessions") == 0
h = "sluice_delivery_latency_seconds"
assert fams[h].type == "histogram"
assert val(h, h + "_count") == 3 and val(h, h + "_bucket", le="+Inf") == 3
assert val("sluice_accept_latency_seconds", "sluice_accept_latency_seconds_count") == 3
assert val("sluice_queue_fsync_seconds", "sluice_queue_fsync_seconds_count") >= 3
c = val("sluice_queue_messages_per_commit", "sluice_queue_messages_per_commit_count")
s = val("sluice_queue_messages_per_commit", "sluice_queue_messages_per_commit_sum")
assert c >= 1 and s == 3, (c, s)
for path, method, want in (("/other", "GET", 404), ("/metrics", "POST", 405)):
    try:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:9464" + path, method=method, data=b"" if method == "POST" else None), timeout=10)
        raise AssertionError("%s %s answered 200" % (method, path))
    except urllib.error.HTTPError as e:
        assert e.code == want, (method, path, e.code)
PY

note "a connection open to a destination is a gauge sample labelled by it"
inject_swaks s@src.example u5@slow.example
cat >"$T/conns.py" <<'PY'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=10).read().decode()
for f in text_string_to_metric_families(text):
    if f.name == "sluice_destination_connections":
        for s in f.samples:
            if "mxslow.example" in s.labels["destination"] and s.value >= 1:
                sys.exit(0)
sys.exit(1)
PY
wait_until '/usr/bin/python3 "$T/conns.py"' 20 "a connection gauge for the slow destination"
sluice_stop
exit 0
