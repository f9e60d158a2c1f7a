#!/usr/bin/env bash
# [metrics] (issue 11): writer 0 writes the pipeline's own counters to
# InfluxDB (measurement ringflow_internal, on by default with an InfluxDB
# output). A file run with 2 transforms and 2 aggregates into a real
# influxd, then:
#  - a series for every process (role, index) and every ring of the
#    layout, tagged with the instance name;
#  - the last point's counters are the run's final counts, checked against
#    independent figures: ingest lines_in_total = the file's line count
#    (wc -l), writer points_written_total = the points InfluxDB holds for
#    the rules (which reference.py checked against its own computation);
#  - enabled = no writes none; a too-short interval is refused by -t.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-metrics-XXXXXX)
trap 'set +e; influxd_stop; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
influxd_start "$dir/influx"

"$BIN/gen-sflow" --seed 3 --records 50000 --rate 2000 --start $(( $(date +%s) / 10 * 10 - 3600 )) \
	--disorder 4 --junk 0.01 --counters 5 --sources 1000 > "$dir/data.csv"
conf() {  # conf DB EXTRA
	rules_conf "$dir" "type = file\npath = $dir/data.csv" \
		"type = influxdb\nurl = $INFLUX_URL\ndatabase = $1\nretention = 1d" > "$dir/$1.ini"
	printf '%b' "$2" >> "$dir/$1.ini"
}
conf rf_m '\n[metrics]\ninterval = 200ms\n'
"$BIN/ringflow" -t -c "$dir/rf_m.ini" > /dev/null
"$BIN/ringflow" -c "$dir/rf_m.ini" 2> "$dir/m.log" || { tail -20 "$dir/m.log"; exit 1; }
python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_m | tee "$dir/ref.txt"
lines=$(wc -l < "$dir/data.csv")

python3 - "$INFLUX_URL" "$lines" <<'PY'
import json, sys, urllib.parse, urllib.request
url, lines = sys.argv[1], int(sys.argv[2])
def q(s, db="rf_m"):
    r = urllib.request.urlopen(f"{url}/query?" + urllib.parse.urlencode({"db": db, "q": s, "epoch": "ns"}))
    return json.load(r)["results"][0].get("series", [])
# Points stored for the rules: one row per (series, time).
points = sum(len(s["values"]) for m in ("rf_by_country", "rf_by_agent", "rf_total", "rf_top_sources")
             for s in q(f'SELECT * FROM "{m}" GROUP BY *'))
procs = {(s["tags"]["role"], s["tags"]["index"]) for s in q('SELECT last(pid) FROM ringflow_internal WHERE role != \'\' GROUP BY role, "index"')}
want = {("ingest", "0"), ("transform", "0"), ("transform", "1"), ("aggregate", "0"), ("aggregate", "1"), ("writer", "0")}
assert procs == want, f"processes with metrics: {sorted(procs)}"
rings = {s["tags"]["ring"] for s in q('SELECT last(capacity_bytes) FROM ringflow_internal WHERE ring != \'\' GROUP BY ring')}
assert len(rings) == 1 * 2 + 2 * 2 + 2 * 1, f"rings: {sorted(rings)}"
inst = {s["tags"]["instance"] for s in q('SELECT last(pid) FROM ringflow_internal GROUP BY instance')}
assert inst == {"it"}, inst
got = q('SELECT last(lines_in_total) FROM ringflow_internal WHERE role = \'ingest\'')[0]["values"][0][1]
assert got == lines, f"ingest lines_in_total {got}, the file has {lines} lines"
got = q('SELECT last(points_written_total) FROM ringflow_internal WHERE role = \'writer\'')[0]["values"][0][1]
assert got == points, f"writer points_written_total {got}, InfluxDB holds {points} points of the rules"
print(f"ringflow_internal: {len(procs)} processes, {len(rings)} rings; lines_in {lines}, points_written {points}")
PY

conf rf_nom '\n[metrics]\nenabled = no\n'
"$BIN/ringflow" -c "$dir/rf_nom.ini" 2> "$dir/nom.log" || { tail -20 "$dir/nom.log"; exit 1; }
[ "$(curl -sG "$INFLUX_URL/query" --data-urlencode db=rf_nom --data-urlencode 'q=SHOW MEASUREMENTS' |
	grep -c ringflow_internal)" -eq 0 ] || { echo "enabled = no still wrote metrics" >&2; exit 1; }

conf rf_bad '\n[metrics]\ninterval = 10ms\n'
rc=0; "$BIN/ringflow" -t -c "$dir/rf_bad.ini" 2> "$dir/bad.err" || rc=$?
[ $rc -eq 78 ] && grep -q '\[metrics\] interval:' "$dir/bad.err" || { cat "$dir/bad.err" >&2; echo "bad interval not refused" >&2; exit 1; }
echo "self metrics: OK"
