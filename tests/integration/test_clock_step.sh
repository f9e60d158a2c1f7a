#!/usr/bin/env bash
# An NTP step of the wall clock must not mark partitions idle: idle_timeout
# and the pause clock are measured with CLOCK_MONOTONIC; only event time and
# the quiet-stream advance use the wall clock. The wall clock ringflow's
# processes see is stepped forward by 5 minutes during a lull through the
# test hook of common/timeutil.h (libfaketime would step librdkafka's
# timed waits too, which hang), CLOCK_MONOTONIC untouched, idle_timeout = 10s;
# the points in a real influxd must equal reference.py's and no row may be
# late (stepping CLOCK_REALTIME-based idle detection closed every window at
# the step and dropped what came after as late).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-clock-XXXXXX)
rf_pid=
trap it_cleanup EXIT

influxd_start "$dir/influx"
kafka_start "$dir/kafka" sflow:4
"$BIN/gen-sflow" --seed 41 --records 45000 --rate 3000 --start $(( $(date +%s) / 10 * 10 - 7200 )) \
	--disorder 8 --junk 0.02 --counters 5 --sources 2000 > "$dir/data.csv"
lines=$(wc -l < "$dir/data.csv")
rules_conf "$dir" "type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = clock\nstart = earliest" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_clock\nretention = 1d\nbatch_points = 2000" \
	"s|^idle_timeout .*|idle_timeout = 10s|" \
	"s|^log_level .*|log_level = info\ncheckpoint_interval = 1s|" > "$dir/rf.ini"
"$BIN/ringflow" -t -c "$dir/rf.ini" > /dev/null

echo 0 > "$dir/wallstep"
export RINGFLOW_TEST_WALL_STEP_FILE=$dir/wallstep
rf_start "$dir/ringflow.log" -c "$dir/rf.ini"
RF_SOCK=$dir/run/it.sock
export WAIT_FOR_PID=$rf_pid
wait_for "control socket" 20 test -S "$RF_SOCK"
wait_for "partitions assigned" 60 bash -c "'$BIN/ringflowctl' -s '$RF_SOCK' status | grep -q 'sflow\[3\]'"
# First half, a lull, the step during the lull, the second half: a step
# that makes the quiet input look quiet for 5 minutes must not close its
# windows (the lull itself is far shorter than idle_timeout).
half=$((lines / 2))
head -n "$half" "$dir/data.csv" > "$dir/first.csv"
tail -n +"$((half + 1))" "$dir/data.csv" > "$dir/second.csv"
produce() { "$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 8 -r 3000 -X compression.codec=lz4 < "$1"; }
produce "$dir/first.csv"
in_lines() { [ "$(stat_sum lines_in_total)" -ge "$1" ]; }
wait_for "the first half read" 60 in_lines "$half"
[ "$(stat_sum live_keys)" -gt 0 ]
emitted=$(stat_sum windows_emitted_total)
echo 300 > "$dir/wallstep.tmp" && mv "$dir/wallstep.tmp" "$dir/wallstep"
# Every process re-reads the step within a second; two checkpoints (1 s
# apart) later every loop has run with it.
id=$(ckpt_id)
wait_for "two checkpoints after the step" 30 ckpt_after $((id + 1))
echo "wall clock stepped forward by 300 s during the lull; windows emitted $emitted -> $(stat_sum windows_emitted_total)"
produce "$dir/second.csv"
wait_for "all $lines lines read" 120 bash -c "[ \"\$(source tests/integration/lib.sh; RF_SOCK=$RF_SOCK stat_sum lines_in_total)\" -ge $lines ]"
wait_for "all windows emitted and written" 120 windows_done
late=$(stat_sum rows_late_total)
rf_stop_group TERM 60
grep -q "stopped cleanly" "$dir/ringflow.log"
echo "late rows: $late"
[ "$late" -eq 0 ] || { grep late "$dir/ringflow.log" | head -5; exit 1; }
python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_clock
echo "clock step: OK"
