#!/usr/bin/env bash
# Built-in analyzers end to end: steady generated traffic in which one
# country's bytes jump x20 for three 10 s windows (gen-sflow --burst-*),
# read from a file (finite input: the same file always gives the same
# alerts), 2 aggregates, a real influxd, alerts to a Kafka topic (the mock
# cluster, read back with kcat) and to a local webhook receiver.
#  - ringflow-zscore (`exec = zscore`, --field bytes) alerts for exactly the
#    burst: one critical alert for that country at the first burst window
#    (one anomaly, one alert), nothing for any other series or window, and
#    a recovery (severity ok) after the last burst window — the same on the
#    Kafka topic, the webhook and in InfluxDB (ringflow_alerts);
#  - ringflow-forecast writes rf_by_country_forecast points (prediction,
#    lower, upper) for windows after the ones it saw;
#  - the data plane still equals reference.py's independent computation.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-burst-XXXXXX)
hook_pid=
cleanup() {
	set +e
	[ -n "$hook_pid" ] && kill "$hook_pid" 2>/dev/null
	it_cleanup
}
trap cleanup EXIT

echo "starting influxd, the Kafka mock and a webhook receiver"
influxd_start "$dir/influx"
kafka_start "$dir/kafka" alerts:2
python3 tests/lib/webhook_receiver.py "$dir/hook.port" "$dir/hook.txt" &
hook_pid=$!
wait_for "the webhook receiver" 10 test -s "$dir/hook.port"

# 400 s of traffic at 1000 records/s (403000 records with the burst: whole
# windows only, so the last one is no partial drop); from 250 s to 280 s CN sends 0.1
# extra records per ordinary record: its bytes about x20 in the windows
# starting at 250, 260 and 270 s (checked below from what reference.py
# verified, not assumed).
t0=$(( $(date +%s) / 10 * 10 - 7200 ))   # recent: InfluxDB keeps 1d
"$BIN/gen-sflow" --seed 5 --records 403000 --rate 1000 --start $t0 --sources 3000 \
	--burst-country CN --burst-at 250 --burst-for 30 --burst-factor 0.1 > "$dir/data.csv"

rules_conf "$dir" "type = file\npath = $dir/data.csv" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_burst\nretention = 1d\nbatch_points = 2000" > "$dir/rf.ini"
cat >> "$dir/rf.ini" <<INI

[analyzer.burst]
exec  = zscore
args  = --field bytes --warning 10 --critical 15
input = by_country

[analyzer.trend]
exec  = forecast
args  = --field bytes --horizon 3
input = by_country

[alerts]
log           = yes
kafka.brokers = $KAFKA_BROKERS
kafka.topic   = alerts
webhook       = http://127.0.0.1:$(cat "$dir/hook.port")/alerts
state_changes_only = yes
INI
"$BIN/ringflow" -t -c "$dir/rf.ini"
"$BIN/ringflow" -c "$dir/rf.ini" 2> "$dir/ringflow.log" || { tail -n 30 "$dir/ringflow.log"; exit 1; }
grep -q 'analyzer burst: finished' "$dir/ringflow.log"

python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_burst

kcat -C -b "$KAFKA_BROKERS" -t alerts -e -q -o beginning -f '%s\n' > "$dir/kafka.txt"
python3 - "$dir" "$INFLUX_URL" "$t0" <<'PY'
import collections, datetime, json, sys, urllib.parse, urllib.request
d, url, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
def q(s):
    r = urllib.request.urlopen(f"{url}/query?" + urllib.parse.urlencode({"db": "rf_burst", "q": s, "epoch": "ns"}))
    return json.load(r)["results"][0].get("series", [])
def rfc(ns):
    return datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
# The burst as stored (reference.py checked these numbers): CN's bytes per
# window against its median before the burst.
cn = {}
for s in q('SELECT bytes FROM "rf_by_country" WHERE src_country = \'CN\''):
    for t, b in s["values"]:
        cn[t] = b
burst = [(t0 + k) * 10**9 for k in (250, 260, 270)]
before = sorted(v for t, v in cn.items() if t < burst[0])
median = before[len(before) // 2]
for t in burst:
    assert cn[t] > 15 * median, f"window {rfc(t)}: CN bytes {cn[t]} is not a burst (median {median})"
print(f"CN bytes: median {median:.3g} before, {[round(cn[t] / median, 1) for t in burst]} x in the burst")

def check(name, alerts):
    bad = [a for a in alerts if a["severity"] != "ok" and
           (a["tags"] != {"src_country": "CN"} or a["time"] not in {rfc(t) for t in burst})]
    assert not bad, f"{name}: alerts outside the burst: {bad[:3]}"
    hits = [a for a in alerts if a["severity"] != "ok"]
    assert len(hits) == 1 and hits[0]["time"] == rfc(burst[0]) and hits[0]["severity"] == "critical" \
        and hits[0]["field"] == "bytes" and hits[0]["analyzer"] == "burst" and hits[0]["rule"] == "by_country", \
        f"{name}: expected one critical alert for CN bytes at {rfc(burst[0])}: {hits}"
    assert hits[0]["value"] == cn[burst[0]], f"{name}: value {hits[0]['value']} is not the stored {cn[burst[0]]}"
    oks = [a for a in alerts if a["severity"] == "ok"]
    assert len(oks) == 1 and oks[0]["tags"] == {"src_country": "CN"} and oks[0]["time"] > rfc(burst[-1]), \
        f"{name}: expected one recovery after the burst: {oks}"
    print(f"{name}: critical at {hits[0]['time']} (score {hits[0]['score']:.1f}), ok at {oks[0]['time']}")

burst_alerts = lambda rows: [a for a in rows if a["analyzer"] == "burst"]
check("kafka", burst_alerts([json.loads(l) for l in open(f"{d}/kafka.txt")]))
check("webhook", burst_alerts([json.loads(l.split("\t", 1)[1]) for l in open(f"{d}/hook.txt")]))
rows = []
for s in q('SELECT * FROM "ringflow_alerts" WHERE analyzer = \'burst\' GROUP BY *'):
    tags = s["tags"]
    for v in s["values"]:
        row = dict(zip(s["columns"], v))
        rows.append({"severity": tags["severity"], "analyzer": tags["analyzer"], "rule": tags["rule"],
                     "field": tags["field"], "time": rfc(row["time"]), "value": row.get("value"),
                     "score": row.get("score") or 0,
                     "tags": {k: x for k, x in tags.items() if k not in ("analyzer", "rule", "field", "severity") and x}})
check("influxdb", rows)

# Forecasts: for CN, points after the last window seen, with a band.
fc = q('SELECT prediction, lower, upper FROM "rf_by_country_forecast" WHERE src_country = \'CN\' AND "field" = \'bytes\'')
assert fc, "no forecast points for CN"
vals = fc[0]["values"]
assert max(t for t, *_ in vals) > max(cn), "no forecast beyond the last window"
assert all(lo <= p <= hi for t, p, lo, hi in vals), "a prediction outside its band"
print(f"forecast: {len(vals)} points for CN bytes, last at {rfc(max(t for t, *_ in vals))}")
PY
echo "analyzer burst: OK"
