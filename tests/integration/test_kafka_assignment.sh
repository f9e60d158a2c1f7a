#!/usr/bin/env bash
# Who reads which Kafka partition (docs/OPERATIONS.md, `[input] assignment`).
# One mock cluster, one influxd, three ringflow runs, each ending with
# InfluxDB equal to reference.py's independent computation:
#
#  a. assignment = ringflow, started before its topic exists: the ingest
#     says so (log line and status problems), the topic is created later
#     (kafka-mock -L + SIGHUP) and is picked up within metadata_refresh
#     (1s here), from `start`; every line read, nothing late.
#  b. assignment = ringflow, 8 partitions over 2 ingest processes: each
#     ingest reads exactly the partitions dealt to it (source id modulo 2),
#     checked by its own lines_in against per-partition line counts computed
#     here from the data we produced; status lists every partition once.
#  c. assignment = group (Kafka's consumer group, static membership), the
#     same topic and pipeline: everything read, same result.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-kassign-XXXXXX)
rf_pid=
trap it_cleanup EXIT
t0=$SECONDS
now_ms() { date +%s%3N; }

influxd_start "$dir/influx"
# `late` is created only by kafka_create_late. Nothing may name it in a
# Metadata request before that: the mock would create it on the spot
# (docs/TESTING-KAFKA.md), and kafka_create_late would then fail.
kafka_start "$dir/kafka" eight:8 --late late:4

start_ts=$(( $(date +%s) / 10 * 10 - 7200 ))
gen() { "$BIN/gen-sflow" --start "$start_ts" --disorder 8 --junk 0.02 --counters 5 --sources 2000 "$@"; }

# run_conf NAME TOPIC DB INPUT_LINES [SED_EXPR...]: a directory and rf.ini
# for one run; INPUT_LINES (\n-separated, may be empty) go into [input].
run_conf() {
	local name=$1 topic=$2 db=$3 more=$4
	shift 4
	mkdir -p "$dir/$name"
	rules_conf "$dir/$name" \
		"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = $topic\ngroup = it_$name\nstart = earliest\nmetadata_refresh = 1s${more:+\n$more}" \
		"type = influxdb\nurl = $INFLUX_URL\ndatabase = $db\nretention = 1d\nbatch_points = 2000" \
		"$@" > "$dir/$name/rf.ini"
	"$BIN/ringflow" -t -c "$dir/$name/rf.ini" > /dev/null
}

# start_rf NAME: ringflow on NAME's config; sets RF_SOCK and WAIT_FOR_PID.
start_rf() {
	rf_start "$dir/$1/ringflow.log" -c "$dir/$1/rf.ini"
	RF_SOCK=$dir/$1/run/it.sock
	WAIT_FOR_PID=$rf_pid
	wait_for "control socket" 20 test -S "$RF_SOCK"
}

# partitions_listed TOPIC: the partition numbers status lists for TOPIC under
# "consumer lag", one per line, sorted (duplicates kept: each ingest lists
# the partitions it owns).
partitions_listed() {
	ctl status | sed -n '/^consumer lag/,/^$/p' | sed -n "s/^  $1\\[\\([0-9]*\\)\\]:.*/\\1/p" | sort -n
}
# all_listed TOPIC N: status lists partitions 0..N-1 of TOPIC, each once.
all_listed() { [ "$(partitions_listed "$1" | tr '\n' ' ')" = "$(seq -s ' ' 0 $(($2 - 1))) " ]; }

lines_read() { [ "$(stat_sum lines_in_total)" -ge "$1" ]; }

# finish NAME DATA DB: waits until all of DATA was read and every window
# was written, stops ringflow as systemd does (SIGTERM to the process
# group, exit 0), then compares InfluxDB and the record counts with
# reference.py.
finish() {
	local name=$1 data=$2 db=$3 lines
	lines=$(wc -l < "$data")
	wait_for "$name: ringflow to read all $lines lines" 60 lines_read "$lines"
	wait_for "$name: all windows emitted and written" 60 windows_done
	ctl status > "$dir/$name/status.txt"
	ctl stats > "$dir/$name/stats.txt"
	WAIT_FOR_PID=
	rf_stop_group TERM 60
	grep -q "stopped cleanly" "$dir/$name/ringflow.log"
	python3 tests/integration/reference.py --data "$data" --stats "$dir/$name/expected.json" \
		--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db "$db"
	sum() { awk -v m="ringflow_$1" '$1 ~ "^"m"[{]" { s += $2 } END { printf "%d\n", s }' "$dir/$name/stats.txt"; }
	python3 - "$name" "$dir/$name/expected.json" "$(sum lines_in_total)" "$(sum records_ok_total)" \
		"$(sum records_filtered_total)" "$(sum records_rejected_total)" "$(sum lines_too_long_total)" \
		"$(sum rows_late_total)" <<'PY'
import json, sys
name, exp = sys.argv[1], json.load(open(sys.argv[2]))
lines, ok, filtered, rejected, too_long, late = map(int, sys.argv[3:])
print(f"{name}: {lines} in, {ok} ok, {filtered} filtered, {rejected} rejected, {too_long} too long, {late} late")
assert lines == exp.get("lines", 0), ("lines", lines, exp["lines"])
assert lines == ok + filtered + rejected + too_long, "records vanished"
assert ok == exp.get("ok", 0) and filtered == exp.get("filtered", 0), ("ok/filtered", ok, filtered, exp)
assert rejected + too_long == exp.get("rejected", 0), ("rejected", rejected + too_long, exp["rejected"])
assert late == 0, "late rows"
PY
}

# ---- a. start before the topic exists -------------------------------------
gen --seed 21 --records 30000 --rate 3000 --agents 5 > "$dir/a.csv"
run_conf a late rf_a ""
start_rf a
missing_logged() { grep "does not exist yet" "$dir/a/ringflow.log" | grep -q "'late'"; }
wait_for "a: log line saying topic 'late' does not exist yet" 10 missing_logged
missing_shown() { ctl status | sed -n '/^problems/,/^$/p' | grep "does not exist yet" | grep -q late; }
wait_for "a: status problems entry for the missing topic" 10 missing_shown
ctl status | sed -n '/^problems/,/^$/p'
# Still waiting, not failing: the ingest keeps running without partitions.
[ -z "$(partitions_listed late)" ]

created_ms=$(now_ms)
kafka_create_late
cat "$KAFKA_CREATED_FILE"
# Produced at once, so some or all of it is in the topic before ringflow
# assigns the partitions: it must start from `start` (earliest). Keyed by
# agent (5 agents over 4 partitions), so the partitions are uneven.
"$BIN/kafka-produce" -b "$KAFKA_BROKERS" -t late -k -l 8 < "$dir/a.csv"
wait_for "a: the 4 partitions of 'late' picked up (metadata_refresh = 1s)" 10 all_listed late 4
picked_ms=$(( $(now_ms) - created_ms ))
echo "a: partitions picked up ${picked_ms} ms after the topic was created (metadata_refresh 1s)"
# 1 s refresh, plus a generous margin for a loaded machine and sanitizers.
[ "$picked_ms" -le 5000 ] || { echo "a: picked up after ${picked_ms} ms, metadata_refresh is 1s" >&2; exit 1; }
problem_gone() { ! ctl status | grep -q "does not exist yet"; }
wait_for "a: the problems entry goes away" 10 problem_gone
finish a "$dir/a.csv" rf_a

# ---- b. 8 partitions over 2 ingests ---------------------------------------
# Line i goes to partition p with weight p+1 (out of 36), so every
# partition spans the whole time range and the split is uneven: ingest 0
# (partitions 0,2,4,6: source id = partition, even) gets 16/36 of the lines,
# ingest 1 gets 20/36; a swapped or lopsided deal shows in the counts.
gen --seed 22 --records 30000 --rate 3000 > "$dir/b.csv"
awk -v d="$dir" '{ k = NR % 36; p = 0; while ((p + 1) * (p + 2) / 2 <= k) p++; print > (d "/b.p" p) }' "$dir/b.csv"
want0=0 want1=0
for p in 0 1 2 3 4 5 6 7; do
	n=$(wc -l < "$dir/b.p$p")
	if [ $((p % 2)) -eq 0 ]; then want0=$((want0 + n)); else want1=$((want1 + n)); fi
	"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t eight -P "$p" -l 8 < "$dir/b.p$p"
done
echo "b: expecting ingest 0: $want0 lines, ingest 1: $want1 lines"

two_ingests='s/^ingest    = 1$/ingest    = 2/'
run_conf b eight rf_b "" "$two_ingests"
grep -q '^ingest    = 2$' "$dir/b/rf.ini"
start_rf b
wait_for "b: status lists each of the 8 partitions once" 20 all_listed eight 8
ingest_lines() { ctl stats | awk -v i="$1" '$1 == "ringflow_lines_in_total{role=\"ingest\",index=\"" i "\"}" { print $2 }'; }
both_done() { [ "$(ingest_lines 0)" -ge "$want0" ] && [ "$(ingest_lines 1)" -ge "$want1" ]; }
wait_for "b: both ingests read their partitions" 60 both_done
got0=$(ingest_lines 0) got1=$(ingest_lines 1)
echo "b: ingest 0 read $got0 lines, ingest 1 read $got1"
[ "$got0" -eq "$want0" ] && [ "$got1" -eq "$want1" ]
# The ingests' own account of the deal: 4 partitions each.
dealt() {
	sed -n "s/.*reading \\([0-9]*\\) new partition(s) (assignment = ringflow, ingest $1 of 2).*/\\1/p" \
		"$dir/b/ringflow.log" | awk '{ s += $1 } END { print s + 0 }'
}
echo "b: dealt to ingest 0: $(dealt 0) partitions, to ingest 1: $(dealt 1)"
[ "$(dealt 0)" -eq 4 ] && [ "$(dealt 1)" -eq 4 ]
finish b "$dir/b.csv" rf_b

# ---- c. assignment = group -------------------------------------------------
# Same topic and data, its own group (it_c: nothing committed, so it starts
# from earliest) and database. Two members joining the mock's group now and
# then take long to settle (over 30 s seen under ASan with the default 45 s
# session, one member left without partitions meanwhile): a shorter session
# and time for it, as the other group tests have; this case is about who
# deals the partitions, not how fast.
run_conf c eight rf_c "assignment = group\nkafka.session.timeout.ms = 6000" "$two_ingests"
grep -q '^assignment = group$' "$dir/c/rf.ini"
start_rf c
wait_for "c: the group assigned all 8 partitions" 90 all_listed eight 8
# Kafka's group protocol dealt them (the rebalance callback logs
# "assigned N partition(s)"), not ringflow's own deal.
grep -q "ingest [01]: info: kafka: assigned [0-9]* partition(s)" "$dir/c/ringflow.log"
if grep "assignment = ringflow" "$dir/c/ringflow.log"; then
	echo "c: assignment = group, but ringflow dealt partitions itself" >&2
	exit 1
fi
finish c "$dir/b.csv" rf_c
echo "c: ingest 0 read $(awk '$1 == "ringflow_lines_in_total{role=\"ingest\",index=\"0\"}" { print $2 }' \
	"$dir/c/stats.txt") lines, ingest 1 $(awk '$1 == "ringflow_lines_in_total{role=\"ingest\",index=\"1\"}" \
	{ print $2 }' "$dir/c/stats.txt") (Kafka's assignor decides)"

echo "kafka assignment (missing topic, 2 ingests, group mode): OK in $((SECONDS - t0))s"
