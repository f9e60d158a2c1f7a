#!/usr/bin/env bash
# bench.sh — the performance figures of docs/PERFORMANCE.md, one line each.
#
# Run from the repo root after a release build (`make bench` does both):
#   1. ring       build/release/bench/bench_ring       (cross-process SPSC ring)
#   2. transform  build/release/bench/bench_transform  (CSV parse + transform)
#   3. aggregate  build/release/bench/bench_aggregate  (1 M live keys)
#   4. end to end Kafka (kafka-mock) -> ringflow -> a private influxd,
#                 compared with kcat consuming the same topic.
#   5. checkpoint build/release/bench/bench_snapshot   (one aggregate's part
#                 of a checkpoint at 100 k and 1 M keys, restore)
#   6. recovery   scripts/bench-recovery.sh (kill -9 to reading again)
#   7. backlog    scripts/bench-backlog.sh (uneven backlog, memory per max_skew)
#   8. analyzers  build/release/bench/bench_detectors (NAB-style scores, MASE,
#                 updates/s per detector) and bench_analyzer_pipe (window
#                 blocks into one analyzer's stdin)
#
# The script only reports: it never compares a figure with its target, and
# fails only when a benchmark cannot run. Every process it starts and its
# temporary directory are cleaned up on exit (trap), also on Ctrl-C.
#
# Knobs (environment): BENCH_SECS (seconds per transform case, default 3),
# BENCH_AGG_N (records per aggregate case, default 8000000: at least 1 M,
# one per key), BENCH_E2E_LINES (lines for the end-to-end run, default
# 280000), BENCH_E2E_RUNS (end-to-end runs, medians reported; default 5),
# BENCH_SKIP (space-separated: ring transform aggregate checkpoint
# recovery backlog analyzers e2e),
# KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build/bin}
BENCH=${BENCH:-$PWD/build/release/bench}
export BIN
BENCH_SECS=${BENCH_SECS:-3}
BENCH_AGG_N=${BENCH_AGG_N:-8000000}
BENCH_E2E_LINES=${BENCH_E2E_LINES:-280000}
BENCH_E2E_RUNS=${BENCH_E2E_RUNS:-5}
BENCH_SKIP=${BENCH_SKIP:-}

source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh

dir=$(mktemp -d /tmp/rf-bench-XXXXXX)
rf_pid=
RF_SOCK=
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$rf_pid" ]; then
		# Orderly stop first; SIGKILL only if it does not go.
		[ -S "${RF_SOCK:-}" ] && "$BIN/ringflowctl" -s "$RF_SOCK" stop >/dev/null 2>&1 || true
		wait_exit "$rf_pid" 20 >/dev/null 2>&1 || { kill -9 "$rf_pid" 2>/dev/null; wait "$rf_pid" 2>/dev/null; }
		rf_pid=
	fi
	kafka_stop >/dev/null 2>&1 || true
	influxd_stop >/dev/null 2>&1 || true
	if [ -n "${KEEP:-}" ]; then
		echo "bench: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

skip() { [[ " $BENCH_SKIP " == *" $1 "* ]]; }
now() { date +%s.%N; }
# fdiv A B [DIGITS]: A / B as a decimal (bash has integers only).
fdiv() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "inf"; else printf "%.*f\n", d, a / b }'; }

for b in bench_ring bench_transform bench_aggregate bench_snapshot bench_detectors bench_analyzer_pipe; do
	if [ ! -x "$BENCH/$b" ]; then
		echo "bench: $BENCH/$b missing: run 'make MODE=release' first" >&2
		exit 1
	fi
done

echo "# ringflow benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Ring: each case calibrates itself to about 2 s.
if ! skip ring; then
	echo "## 1. ring (64-byte records, producer and consumer in two processes)"
	"$BENCH/bench_ring"
fi

# 2. Transform: rates are per CPU second of the benchmark thread.
if ! skip transform; then
	echo "## 2. transform (one core; per CPU second of the thread)"
	RF_SRCDIR=$PWD "$BENCH/bench_transform" "$BENCH_SECS" | grep -v '^  ok '
fi

# 3. Aggregate: argument = records per case (>= 1 M, one per key).
if ! skip aggregate; then
	echo "## 3. aggregate (one core)"
	"$BENCH/bench_aggregate" "$BENCH_AGG_N"
fi

# 5. Checkpoint cost of one aggregate process (snapshot + LMDB), restore.
if ! skip checkpoint; then
	echo "## 5. checkpoint (one aggregate process; LMDB in /tmp)"
	"$BENCH/bench_snapshot" 101
fi

# 6. Crash recovery: its own Kafka mock and ringflow.
if ! skip recovery; then
	echo "## 6. recovery (kill -9 -> reading again)"
	scripts/bench-recovery.sh | grep -v '^#'
fi

# 7. Catching up a backlog of uneven partitions, per max_skew.
if ! skip backlog; then
	echo "## 7. backlog (peak open-window memory per max_skew)"
	scripts/bench-backlog.sh | grep -v '^#'
fi

# 8. Analyzers: detector quality and speed, and the host's pipe writes.
if ! skip analyzers; then
	echo "## 8. analyzers (one core each)"
	"$BENCH/bench_detectors"
	"$BENCH/bench_analyzer_pipe" 100000 20 2>/dev/null
	"$BENCH/bench_analyzer_pipe" 1000000 5 2>/dev/null
fi

skip e2e && exit 0

# 4. End to end. The mock keeps about 5 MiB of message sets per partition
# (tests/helpers/kafka_mock_main.c) and silently drops the oldest beyond
# that, so the whole data set is produced first, lz4-compressed (as
# production topics usually are), and must fit: 4 partitions x ~4 MiB
# (280000 lines = 4 x 9.6 MB of CSV, about 4 x 3.8 MiB in lz4 sets).
# Both consumers then read the same complete topic from the beginning.
echo "## 4. end to end: Kafka (mock, 4 partitions) -> ringflow -> InfluxDB"
# Called in a || list so that errexit is off inside them: influxd_start's
# `code=$(curl ...)` fails while influxd is still starting, which under
# set -e would end this script silently and leave influxd running.
influxd_start "$dir/influx" >/dev/null || { echo "bench: influxd did not start" >&2; exit 1; }
kafka_start "$dir/kafka" sflow:4 || { echo "bench: kafka-mock did not start" >&2; exit 1; }

# Event time from an hour ago (inside the 1d retention), 10 s aligned.
start_ts=$(( $(date +%s) / 10 * 10 - 3600 ))
rate=$(( BENCH_E2E_LINES / 600 + 1 ))   # about 10 min of event time
"$BIN/gen-sflow" --seed 7 --records "$BENCH_E2E_LINES" --rate "$rate" --start "$start_ts" \
	--sources 20000 --counters 30 >"$dir/data.csv"
lines=$(wc -l <"$dir/data.csv")
bytes=$(wc -c <"$dir/data.csv")
# Messages of 16 lines dealt round-robin to the 4 partitions, one producer
# each: librdkafka's sticky partitioner would put a fast keyless burst into
# one partition, which then overflows. Every partition spans the whole
# event-time range, as with a real collector.
prod_pids=()
for p in 0 1 2 3; do
	awk -v p=$p 'int((NR - 1) / 16) % 4 == p' "$dir/data.csv" |
		"$BIN/kafka-produce" -b "$KAFKA_BROKERS" -t sflow -P $p -l 16 -q \
			-X compression.codec=lz4 -X linger.ms=50 &
	prod_pids+=($!)
done
for p in "${prod_pids[@]}"; do
	wait "$p" || { echo "bench: kafka-produce failed" >&2; exit 1; }
done

# Poll with a deadline, finer than wait_for's 0.2 s, so the times are close.
# poll DESCRIPTION SECONDS COMMAND...
poll() {
	local what=$1 deadline=$(( SECONDS + $2 ))
	shift 2
	until "$@" 2>/dev/null; do
		if ! kill -0 "$rf_pid" 2>/dev/null; then
			echo "bench: ringflow exited while waiting for $what; log:" >&2
			tail -n 20 "$dir/ringflow.log" >&2
			exit 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "bench: timed out after $2 s waiting for $what" >&2
			tail -n 20 "$dir/ringflow.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}
all_lines_in() { [ "$(stat_sum lines_in_total)" -ge "$lines" ]; }
all_written() {
	[ "$(stat_sum live_keys)" -eq 0 ] &&
	[ "$(stat_sum points_emitted_total)" -gt 0 ] &&
	[ "$(stat_sum points_written_total)" -eq "$(stat_sum points_emitted_total)" ]
}
some_lines_in() { [ "$(stat_sum lines_in_total)" -gt 0 ]; }
db_points() {   # DATABASE: points stored, over every measurement
	python3 - "$INFLUX_URL" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url, db = sys.argv[1], sys.argv[2]
def q(s):
    u = url + "/query?" + urllib.parse.urlencode({"db": db, "q": s})
    return json.load(urllib.request.urlopen(u))["results"][0].get("series", [])
total = 0
for m in [r[0] for s in q("SHOW MEASUREMENTS") for r in s["values"]]:
    for s in q('SELECT COUNT(*) FROM "%s"' % m):
        total += max(v for v in s["values"][0][1:] if v is not None)
print(total)
PY
}

# One measurement: (a) kcat, (b) ringflow streaming, (c) ringflow bounded,
# each over the whole topic, each ringflow with a state and database of its
# own. Sets kcat_s, in_s, all_s, bounded_s (seconds) and prints the run.
e2e_once() {
	local r=$1
	# (a) kcat: the floor a consumer of this broker can reach (no parsing).
	t0=$(now)
	# Each message ends in '\n' and kcat adds its own: count non-empty lines.
	kcat_lines=$(kcat -b "$KAFKA_BROKERS" -C -t sflow -e -o beginning -q | grep -c .) || true
	t1=$(now)
	kcat_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	if [ "$kcat_lines" -ne "$lines" ]; then
		echo "bench: kcat read $kcat_lines of $lines lines: the mock dropped data;" \
			"lower BENCH_E2E_LINES" >&2
		exit 1
	fi
	kcat_rate=$(fdiv "$lines" "$kcat_s" 0)
	echo "e2e run $r: kcat: $lines lines ($(fdiv "$bytes" 1000000 1) MB CSV) in ${kcat_s} s = $(fdiv "$kcat_rate" 1000000 3) M lines/s"

	# (b) ringflow: the integration pipeline (GeoIP, 4 rules), one process per
	# stage on this 2-core machine, a fresh consumer group, from the beginning.
	rules_conf "$dir" "type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = bench-$$-$RANDOM\nstart = earliest" \
		"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_bench\nretention = 1d\nbatch_points = 5000" \
		"s|^transform *=.*|transform = 1|; s|^aggregate *=.*|aggregate = 1|; s|^name .*|name = stream$r|" \
		"s|^database = rf_bench|database = rf_bench$r|" >"$dir/rf.ini"
	"$BIN/ringflow" -t -c "$dir/rf.ini" >/dev/null
	RF_SOCK=$dir/run/stream$r.sock

	t0=$(now)
	"$BIN/ringflow" -c "$dir/rf.ini" 2>"$dir/ringflow.log" &
	rf_pid=$!
	poll "the control socket" 30 test -S "$RF_SOCK"
	# Not subtracted from anything: shows how much of the time is start-up
	# (processes, consumer group join, partition assignment).
	poll "the first line" 60 some_lines_in
	tf=$(now)
	poll "all $lines lines to be read" 600 all_lines_in
	t1=$(now)
	poll "all points to be written" 600 all_written
	t2=$(now)
	points=$(stat_sum points_written_total)
	"$BIN/ringflowctl" -s "$RF_SOCK" stop >/dev/null
	wait_exit "$rf_pid" 60 || true
	rf_pid=

	in_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	all_s=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')
	rf_rate=$(fdiv "$lines" "$in_s" 0)
	rf_all_rate=$(fdiv "$lines" "$all_s" 0)
	echo "e2e run $r: ringflow read: $lines lines in ${in_s} s (from process start) = $(fdiv "$rf_rate" 1000000 3) M lines/s"
	first_s=$(awk -v a="$t0" -v b="$tf" 'BEGIN { printf "%.3f", b - a }')
	echo "e2e run $r: ringflow breakdown: first line read ${first_s} s after start; first to last line $(fdiv "$lines" "$(awk -v a="$tf" -v b="$t1" 'BEGIN { print b - a }')" 0) lines/s (not the headline figure)"
	echo "e2e run $r: ringflow in InfluxDB: $points points, all written ${all_s} s after start = $(fdiv "$rf_all_rate" 1000000 3) M lines/s (includes the 2 s idle_timeout)"
	echo "e2e run $r: ratio ringflow/kcat: read $(fdiv "$rf_rate" "$kcat_rate" 2), until written $(fdiv "$rf_all_rate" "$kcat_rate" 2)"

	# (c) The same topic as a bounded run (`stop_at = end`, as kcat -e): ringflow
	# reads every partition to its end, closes every window, writes it and
	# exits 0, so process exit is "every point is in InfluxDB". Checked: the
	# database then holds as many points as (b) wrote.
	sed -e "s|^start = earliest|start = earliest\nstop_at = end|" -e "s|^group = .*|group = bench-bounded-$$-$RANDOM|" \
		-e "s|^database = rf_bench$r|database = rf_bench_bounded$r|" -e "s|^name .*|name = bounded$r|" "$dir/rf.ini" > "$dir/rf-bounded.ini"
	"$BIN/ringflow" -t -c "$dir/rf-bounded.ini" >/dev/null
	t0=$(now)
	"$BIN/ringflow" -c "$dir/rf-bounded.ini" 2>"$dir/ringflow-bounded.log" || {
		echo "bench: the bounded run failed; log:" >&2
		tail -n 20 "$dir/ringflow-bounded.log" >&2
		exit 1
	}
	t1=$(now)
	bounded_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	bounded_points=$(db_points rf_bench_bounded$r)
	stream_points=$(db_points rf_bench$r)
	if [ "$bounded_points" -ne "$stream_points" ]; then
		echo "bench: the bounded run stored $bounded_points points, the streaming run $stream_points; log:" >&2
		grep -v "rejected in one batch" "$dir/ringflow-bounded.log" | tail -n 30 >&2
		exit 1
	fi
	echo "e2e run $r: ringflow stop_at = end: $lines lines read, every window closed and $bounded_points points in InfluxDB, exit 0 after ${bounded_s} s"
	echo "e2e run $r: ratio ringflow/kcat, stop_at = end, until written: $(fdiv "$kcat_s" "$bounded_s" 2) (kcat ${kcat_s} s / ringflow ${bounded_s} s)"
	echo "$kcat_s $in_s $all_s $bounded_s" >> "$dir/e2e-runs.txt"
}

# The machine is shared and noisy (kcat alone varies 2x between runs), so
# the figures are medians over BENCH_E2E_RUNS runs, each ratio taken within
# its run.
: > "$dir/e2e-runs.txt"
for r in $(seq 1 "$BENCH_E2E_RUNS"); do e2e_once "$r"; done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" '{ print $c }' "$dir/e2e-runs.txt" | median; }
ratio() { awk -v a="$1" -v b="$2" '{ print $a / $b }' "$dir/e2e-runs.txt" | median; }
echo "e2e median of $BENCH_E2E_RUNS runs: kcat $(col 1) s; ringflow read $(col 2) s, until written $(col 3) s (streaming), $(col 4) s (stop_at = end)"
echo "e2e median ratios ringflow/kcat: read $(ratio 1 2 | xargs printf %.2f), until written $(ratio 1 3 | xargs printf %.2f) (streaming), $(ratio 1 4 | xargs printf %.2f) (stop_at = end)"
