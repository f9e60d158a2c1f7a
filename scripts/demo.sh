#!/usr/bin/env bash
# demo.sh — the whole pipeline on generated traffic, run by `make demo`:
# a private influxd, a Kafka broker on loopback (librdkafka's mock cluster,
# real Kafka protocol), a generator streaming realistic sFlow CSV for about a
# minute (many sources, skewed sizes, one country's bytes x20 for 6 s), and
# ringflow with conf/demo.ini, whose analyzers (built-in zscore and
# forecast) detect the burst and predict the traffic. Prints what InfluxDB
# holds, the alerts read back from the Kafka alert topic, the forecast band
# beside the actual values and `ringflowctl status`, then stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export BIN=${BIN:-$PWD/build/bin}
DURATION=${DEMO_SECONDS:-60}
RATE=${DEMO_RATE:-3000}
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh

dir=$(mktemp -d /tmp/ringflow-demo-XXXXXX)
rf_pid=
cleanup() {
	[ -n "$rf_pid" ] && kill -TERM "$rf_pid" 2>/dev/null && wait "$rf_pid" 2>/dev/null || true
	kafka_stop 2>/dev/null || true
	influxd_stop 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a private InfluxDB and a Kafka broker on loopback"
influxd_start "$dir/influx"
kafka_start "$dir/kafka" sflow:4 ringflow-alerts:1
echo "InfluxDB $INFLUX_URL, Kafka $KAFKA_BROKERS (topic sflow, 4 partitions; alerts to ringflow-alerts)"

sed -e "s|@STATE_DIR@|$dir/state|; s|@RUN_DIR@|$dir/run|; s|@BROKERS@|$KAFKA_BROKERS|" \
    -e "s|@MMDB_DIR@|$PWD/data/mmdb|; s|@INFLUX_URL@|$INFLUX_URL|" conf/demo.ini > "$dir/demo.ini"
"$BIN/ringflow" -t -c "$dir/demo.ini"

say "starting ringflow -c conf/demo.ini (log: ringflow.log in the demo dir)"
"$BIN/ringflow" -c "$dir/demo.ini" 2> "$dir/ringflow.log" &
rf_pid=$!
export RF_SOCK=$dir/run/demo.sock
wait_for "ringflow's control socket" 30 test -S "$RF_SOCK"
assigned() { "$BIN/ringflowctl" -s "$RF_SOCK" status | grep -q 'sflow\[3\]'; }
wait_for "Kafka partitions assigned to ringflow" 60 assigned
ps -o pid,args --ppid "$rf_pid" | sed 's/^/  /'

say "streaming ${DURATION}s of generated sFlow (${RATE} records/s; CN's bytes x20 for 6 s from $((DURATION * 7 / 10))s)"
burst_at=$((DURATION * 7 / 10))
# Whole windows only: start on a 10 s boundary and stop after DURATION s of
# event time (records = rate x duration, plus the burst's 0.1 extra per
# record for 6 s), so no half-empty last window looks like a drop.
start=$(( ($(date +%s) / 10 + 1) * 10 ))
sleep $(( start - $(date +%s) ))
"$BIN/gen-sflow" --seed 42 --realtime --rate "$RATE" --start "$start" \
	--records $(( RATE * DURATION + RATE * 6 / 10 )) \
	--sources 5000 --burst-country CN --burst-at "$burst_at" --burst-for 6 --burst-factor 0.1 \
	--disorder 2 --junk 0.001 |
	"$BIN/kafka-produce" -b "$KAFKA_BROKERS" -t sflow -l 16 -q &
gen_pid=$!
for ((t = 10; t <= DURATION; t += 10)); do
	sleep 10
	printf '  %3ds: %s lines read, %s points written\n' "$t" "$(stat_sum lines_in_total)" \
		"$(stat_sum points_written_total)"
done
wait "$gen_pid" || true

say "input stopped: waiting for the last windows to close (idle_timeout + lateness)"
# The writer also writes the analyzers' points and alerts.
settled() {
	[ "$(stat_sum live_keys)" -eq 0 ] &&
	[ "$(stat_sum points_written_total)" -eq $(( $(stat_sum points_emitted_total) + $(stat_sum analyzer_host_points_out_total) )) ]
}
wait_for "the last windows" 60 settled

say "InfluxDB: top 5 source countries by bytes, per 10 s window (traffic_by_country)"
curl -sG "$INFLUX_URL/query" --data-urlencode db=sflow_demo --data-urlencode epoch=s \
	--data-urlencode 'q=SELECT bytes, flows, sources FROM traffic_by_country GROUP BY src_country' |
python3 -c '
import json, sys, time, collections
res = json.load(sys.stdin)["results"][0].get("series", [])
by_time = collections.defaultdict(list)
for s in res:
    cc = s.get("tags", {}).get("src_country") or "(unknown)"
    for t, b, f, src in s["values"]:
        by_time[t].append((b or 0, cc, f, src))
for t in sorted(by_time):
    top = sorted(by_time[t], reverse=True)[:5]
    print(time.strftime("%H:%M:%S", time.gmtime(t)), "  ".join(f"{cc} {b/1e6:8.1f} MB" for b, cc, f, src in top))
'
say "InfluxDB: whole stream, 10 s windows every 5 s (traffic_total)"
curl -sG "$INFLUX_URL/query" --data-urlencode db=sflow_demo --data-urlencode epoch=s \
	--data-urlencode 'q=SELECT flows, bytes, sources, avg_packet FROM traffic_total' |
python3 -c '
import json, sys, time
for s in json.load(sys.stdin)["results"][0].get("series", []):
    for t, f, b, src, avg in s["values"]:
        print(time.strftime("%H:%M:%S", time.gmtime(t)), f"flows {f:7d}  bytes {b/1e6:9.1f} MB  sources {src:5d}  avg packet {avg:6.1f}")
'
say "alerts read back from the Kafka topic ringflow-alerts (JSON, one per state change)"
kcat -C -b "$KAFKA_BROKERS" -t ringflow-alerts -e -q -o beginning -f '%s\n' 2>/dev/null |
	python3 scripts/demo_report.py alerts
echo "(the stream stops inside the last window, so that one is partial: the analyzers see a drop there)"
say "CN bytes per 2 s window: actual beside the forecast band (traffic_by_country_2s[_forecast])"
python3 scripts/demo_report.py forecast "$INFLUX_URL" sflow_demo traffic_by_country_2s src_country CN bytes
say "ringflowctl status"
"$BIN/ringflowctl" -s "$RF_SOCK" status

say "stopping ringflow (ringflowctl stop)"
"$BIN/ringflowctl" -s "$RF_SOCK" stop
wait_exit "$rf_pid" 60 && echo "ringflow exited 0"
rf_pid=
