#!/usr/bin/env bash
# The real thing: Kafka protocol (librdkafka's mock cluster on loopback,
# 4 partitions) -> ringflow (2 transforms, 2 aggregates) -> a real influxd.
# Input has out-of-order times, CNTR lines and malformed lines, streamed
# while ringflow consumes. The points stored in InfluxDB must equal
# reference.py's independent computation; the record counts must add up.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-kafka-XXXXXX)
rf_pid=
trap it_cleanup EXIT

influxd_start "$dir/influx"
kafka_start "$dir/kafka" sflow:4

"$BIN/gen-sflow" --seed 11 --records 80000 --rate 3000 --start $(( $(date +%s) / 10 * 10 - 7200 )) \
	--disorder 8 --junk 0.02 --counters 5 --sources 2000 > "$dir/data.csv"
lines=$(wc -l < "$dir/data.csv")

rules_conf "$dir" "type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = it\nstart = earliest" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_it\nretention = 1d\nbatch_points = 2000" > "$dir/rf.ini"
"$BIN/ringflow" -t -c "$dir/rf.ini"
rf_start "$dir/ringflow.log" -c "$dir/rf.ini"
RF_SOCK=$dir/run/it.sock
wait_for "control socket" 20 test -S "$RF_SOCK"

# The mock's partitions keep only about 5 MB each (docs/TESTING-KAFKA.md):
# wait until ringflow owns the partitions, then stream at a bounded rate
# while it consumes. -l packs several lines per message as some collectors
# do; messages spread over the 4 partitions.
assigned() { "$BIN/ringflowctl" -s "$RF_SOCK" status | grep -q 'sflow\[3\]'; }
wait_for "partitions assigned to ringflow" 60 assigned
"$BIN/kafka-produce" -b "$KAFKA_BROKERS" -t sflow -l 8 -r 40000 < "$dir/data.csv"

wait_for "ringflow to read all $lines lines" 120 \
	bash -c "[ \"\$(source tests/integration/lib.sh; BIN=$BIN RF_SOCK=$RF_SOCK stat_sum lines_in_total)\" -ge $lines ]"
# Every partition goes idle (idle_timeout = 2s), the watermark moves on and
# every window closes; then the writer must have delivered all points.
wait_for "all windows emitted and written" 120 windows_done
"$BIN/ringflowctl" -s "$RF_SOCK" status
"$BIN/ringflowctl" -s "$RF_SOCK" stats > "$dir/stats.txt"
# Stopped as systemd stops a service: SIGTERM to the whole process group.
rf_stop_group TERM 60
grep -q "stopped cleanly" "$dir/ringflow.log"

python3 tests/integration/reference.py --data "$dir/data.csv" --stats "$dir/expected.json" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_it

# Nothing vanished: in = ok + filtered + rejected, each as the reference says.
sum() { awk -v m="ringflow_$1" '$1 ~ "^"m"[{]" { s += $2 } END { printf "%d\n", s }' "$dir/stats.txt"; }
python3 - "$dir/expected.json" "$(sum lines_in_total)" "$(sum records_ok_total)" \
	"$(sum records_filtered_total)" "$(sum records_rejected_total)" "$(sum lines_too_long_total)" \
	"$(sum rows_late_total)" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
lines, ok, filtered, rejected, too_long, late = map(int, sys.argv[2:])
print(f"ringflow: {lines} in, {ok} ok, {filtered} filtered, {rejected} rejected, {too_long} too long, {late} late")
assert lines == exp.get("lines", 0), ("lines", lines, exp["lines"])
assert lines == ok + filtered + rejected + too_long, "records vanished"
assert ok == exp.get("ok", 0) and filtered == exp.get("filtered", 0), ("ok/filtered", ok, filtered, exp)
assert rejected + too_long == exp.get("rejected", 0), ("rejected", rejected + too_long, exp["rejected"])
assert late == 0, "late rows within the lateness bound"
PY
echo "kafka -> influxdb pipeline: OK"
