#!/usr/bin/env bash
# [input] stop_at = end: a Kafka input that ends. Through the Kafka protocol
# (the mock, 4 partitions of very different sizes) into a real influxd,
# 2 ingest processes, idle_timeout 1h (so no window may close by
# quietness: only the end of the input closes them):
#   1. a preloaded backlog: ringflow reads every partition to its end,
#      closes every window, writes them and exits 0 by itself;
#   2. more lines arrive while a second run reads: it stops at the offsets
#      the partitions ended at when it assigned them, and the group's
#      committed offsets are exactly there (the rest is left, not lost);
#   3. a third run reads what was left, from the second one's checkpoint;
#   4. a crash while the input ends (the writer killed while the final
#      checkpoint waits for a stopped influxd): the data plane restarts
#      from the last checkpoint, reads to the same ends and ends again.
# After each run InfluxDB must equal reference.py over every line read so
# far (independent computation), with no row late, and the group's
# committed offsets must be where the run stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-bounded-XXXXXX)
rf_pid= bg_pids=
# influxd may be left stopped (case 4) when a check fails: wake it to stop it.
trap '[ -n "${INFLUX_PID:-}" ] && kill -CONT "$INFLUX_PID" 2>/dev/null; it_cleanup' EXIT

influxd_start "$dir/influx"
kafka_start "$dir/kafka" flows:4

# Three batches, apart in event time by more than window + lateness, so a
# window never spans two runs' data (a later run's rows for an old window
# would be late by definition, and the reference has no runs).
t0=$(( $(date +%s) / 10 * 10 - 7200 ))
for b in 1 2 3 4; do
	"$BIN/gen-sflow" --seed $((40 + b)) --records 20000 --rate 400 --start $(( t0 + (b - 1) * 600 )) \
		--disorder 5 --junk 0.01 --counters 5 --sources 500 > "$dir/batch$b.csv"
	awk -v d="$dir" -v b=$b '{ k = NR % 20; p = k < 11 ? 0 : k < 17 ? 1 : k < 19 ? 2 : 3;
		print > (d "/b" b "p" p ".csv") }' "$dir/batch$b.csv"
done
produce() {   # BATCH PARTITION [kafka-produce options]
	local b=$1 p=$2
	shift 2
	"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t flows -P "$p" -l 8 "$@" < "$dir/b${b}p$p.csv"
}
# Where the partitions end now (the high watermarks), "p offset" per line.
high_watermarks() {
	"$BIN/kafka-committed" -b "$KAFKA_BROKERS" -g bounded -t flows -n 4 | awk '{ print $1, $3 }'
}
committed() {
	"$BIN/kafka-committed" -b "$KAFKA_BROKERS" -g bounded -t flows -n 4 | awk '{ print $1, $2 }'
}

mkdir -p "$dir/rf"
rules_conf "$dir/rf" \
	"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = flows\ngroup = bounded\nstart = earliest\nstop_at = end" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_bounded\nretention = 1d\nbatch_points = 2000" \
	"s|^lateness .*|lateness    = 20s|" "s|^idle_timeout .*|idle_timeout = 1h|" \
	"s|^ingest .*|ingest    = 2|" "s|^log_level .*|log_level = info\ncheckpoint_interval = 500ms|" > "$dir/rf/rf.ini"
grep -q "^ingest    = 2" "$dir/rf/rf.ini" || { echo "the config has no [processes] ingest line to set" >&2; exit 1; }
"$BIN/ringflow" -t -c "$dir/rf/rf.ini" > /dev/null
RF_SOCK=$dir/rf/run/it.sock

# run N [COMMAND...]: one bounded run, which must end by itself with exit 0,
# every row on time; COMMAND runs once every partition's end is fixed. Then
# InfluxDB against the reference over batches 1..N, and the group's
# committed offsets against the ends the run logged.
ends_fixed() { [ "$(grep -c "reading up to offset" "$1")" -ge 4 ]; }
run() {
	local n=$1 log=$dir/rf/run$1.log late=0 rc=0 l
	shift
	rf_start "$log" -c "$dir/rf/rf.ini"
	if [ $# -gt 0 ]; then
		WAIT_FOR_PID=$rf_pid wait_for "run $n: every partition's end fixed" 30 ends_fixed "$log"
		"$@"
	fi
	# Count late rows while it runs (the stats go with the process).
	while kill -0 "$rf_pid" 2>/dev/null; do
		l=$(stat_sum rows_late_total 2>/dev/null) && [ -n "$l" ] && late=$l
		sleep 0.1
	done
	wait "$rf_pid" || rc=$?
	rf_pid=
	[ "$rc" -eq 0 ] || { tail -20 "$log" >&2; echo "run $n: exit $rc" >&2; return 1; }
	grep -q "stop_at = end: every partition was read to its end" "$log" &&
		grep -q "stopped cleanly" "$log" || { tail -20 "$log" >&2; echo "run $n: did not end as bounded" >&2; return 1; }
	# The stats poll can miss the last moments; the log (a line whenever
	# rows are dropped as late) cannot.
	[ "$late" -eq 0 ] && ! grep -q "dropped as late" "$log" ||
		{ echo "run $n: rows dropped as late ($late counted)" >&2; return 1; }
	cat "$dir"/batch[1-"$n"].csv > "$dir/expected$n.csv"
	python3 tests/integration/reference.py --data "$dir/expected$n.csv" \
		--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_bounded
	grep -o "flows partition [0-9]*: reading up to offset [0-9]*" "$log" |
		awk '{ sub(":", "", $3); print $3, $8 }' | sort -u -k1,1n -k2,2n > "$dir/logged$n.txt"   # a restart logs them again
	committed > "$dir/committed$n.txt"
	diff "$dir/logged$n.txt" "$dir/committed$n.txt" ||
		{ echo "run $n: committed offsets are not the ends it read to" >&2; return 1; }
}

# 1. A preloaded, uneven backlog: read to the high watermarks.
for p in 0 1 2 3; do produce 1 $p; done
high_watermarks > "$dir/end1.txt"
run 1
diff "$dir/end1.txt" "$dir/committed1.txt" ||
	{ echo "run 1: did not read to the high watermarks it started with" >&2; exit 1; }
echo "run 1: read to $(tr '\n' ' ' < "$dir/committed1.txt")exit 0, InfluxDB = reference"

# 2. Batch 2 is in the topic; batch 3 is produced while run 2 reads, once
# its ends are fixed: run 2 reads batch 2 and nothing of batch 3.
for p in 0 1 2 3; do produce 2 $p; done
high_watermarks > "$dir/end2.txt"
produce_batch3() {
	for p in 0 1 2 3; do produce 3 $p; done
}
run 2 produce_batch3
diff "$dir/end2.txt" "$dir/committed2.txt" ||
	{ echo "run 2: did not stop where the partitions ended when it assigned them" >&2; exit 1; }
high_watermarks > "$dir/end3.txt"
left=$(paste "$dir/committed2.txt" "$dir/end3.txt" | awk '{ s += $4 - $2 } END { print s }')
[ "$left" -gt 0 ] || { echo "run 2: batch 3 was not in the topic before it ended: the case tests nothing" >&2; exit 1; }
echo "run 2: stopped at $(tr '\n' ' ' < "$dir/committed2.txt")with $left messages of batch 3 left, InfluxDB = reference"

# 3. The rest, from run 2's checkpoint: every line of the three batches,
# each once (a line read twice would double a sum).
run 3
diff "$dir/end3.txt" "$dir/committed3.txt" ||
	{ echo "run 3: did not read to the high watermarks" >&2; exit 1; }
echo "run 3: read to the high watermarks, InfluxDB = reference"

# 4. Batch 4, with influxd stopped (SIGSTOP) from the start so the run
# cannot finish its final checkpoint; once it is ending, kill -9 the
# writer, then let influxd go on.
for p in 0 1 2 3; do produce 4 $p; done
high_watermarks > "$dir/end4.txt"
kill -STOP "$INFLUX_PID"
crash_while_ending() {
	local log=$dir/rf/run4.log pid
	WAIT_FOR_PID=$rf_pid wait_for "run 4: ending" 60 grep -q "every partition was read to its end" "$log"
	# The writer: it cannot finish while influxd is stopped, so it is
	# still there (the aggregates may have ended already). Never pid 0:
	# kill -9 0 would kill this test's own process group.
	pid=$(ctl status | awk '$1 == "writer" && $2 == "0" && $3 ~ /^[1-9][0-9]*$/ { print $3 }')
	[ -n "$pid" ] || { echo "run 4: no running writer 0 in status" >&2; kill -CONT "$INFLUX_PID"; return 1; }
	kill -9 "$pid"
	WAIT_FOR_PID=$rf_pid wait_for "run 4: restart after the crash" 60 \
		bash -c "[ \$(grep -c 'data plane started' '$log') -ge 2 ]"
	kill -CONT "$INFLUX_PID"
}
run 4 crash_while_ending
grep -q "crashed while the bounded input was ending" "$dir/rf/run4.log" ||
	{ echo "run 4: the crash did not happen while the input was ending: the case tests nothing" >&2; exit 1; }
diff "$dir/end4.txt" "$dir/committed4.txt" ||
	{ echo "run 4: did not read to the high watermarks" >&2; exit 1; }
echo "run 4: crashed while ending, restarted, ended again; InfluxDB = reference"
echo "bounded runs: OK"
