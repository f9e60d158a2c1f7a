#!/usr/bin/env bash
# Crash consistency (DESIGN.md §2, issue 3): while data with out-of-order
# times streams through Kafka (librdkafka's mock cluster, 4 partitions) ->
# ringflow (2 transforms, 2 aggregates) -> a real influxd, this test
#   1. kill -9s each data-plane role in turn (ingest, transform, aggregate,
#      writer) and waits until a checkpoint completes after the restart;
#   2. kill -9s the supervisor: every child must be gone within 5 s; then
#      starts ringflow again;
#   3. stops influxd for 30 s: no checkpoint may complete while points wait,
#      then starts it again on the same port and data;
#   4. stops ringflow with SIGTERM to its process group, as systemd does
#      (exit 0, final checkpoint, no process left) and starts it again with
#      3 aggregate processes instead of 2 (state re-sharded).
# Then the points in InfluxDB must equal reference.py's independent
# computation over the whole input: same series, times and values, nothing
# counted twice, nothing missing. RF_ASSIGNMENT (ringflow, the default, or
# group) picks [input] assignment; test_checkpoint_faults_group.sh runs it
# in group mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-faults-XXXXXX)
rf_pid= prod_pid=
cleanup() {
	set +e   # a failing kill must not cut the cleanup short
	[ -n "$prod_pid" ] && kill "$prod_pid" 2>/dev/null
	rf_kill_group
	kafka_stop || true
	influxd_stop || true
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

influxd_start "$dir/influx"
kafka_start "$dir/kafka" sflow:4

# 2 hours ago, 8 s of disorder, CNTR and malformed lines mixed in.
"$BIN/gen-sflow" --seed 23 --records 120000 --rate 1500 --start $(( $(date +%s) / 10 * 10 - 7200 )) \
	--disorder 8 --junk 0.01 --counters 5 --sources 3000 > "$dir/data.csv"
lines=$(wc -l < "$dir/data.csv")

# A restarted consumer waits for its dead predecessor's session to time
# out (docs/TESTING-KAFKA.md): keep that short.
rules_conf "$dir" \
	"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = faults\nstart = earliest\nassignment = ${RF_ASSIGNMENT:-ringflow}\nkafka.session.timeout.ms = 6000" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_faults\nretention = 1d\nbatch_points = 2000" \
	"s|^checkpoint_interval.*||; s|^log_level .*|log_level = info\ncheckpoint_interval = 1s|" > "$dir/rf.ini"
"$BIN/ringflow" -t -c "$dir/rf.ini" > /dev/null
RF_SOCK=$dir/run/it.sock
runs=0
start_ringflow() {
	runs=$((runs + 1))
	rf_start "$dir/ringflow.log" -c "$dir/rf.ini"
	wait_for "control socket" 20 "$BIN/ringflowctl" -s "$RF_SOCK" help > /dev/null
}
role_pid() { ctl status | awk -v r="$1" '$1 == r && $2 == "0" && $3 ~ /^[1-9][0-9]*$/ { print $3 }'; }
# Lines read by earlier ringflow runs (their counters died with them).
lines_before=0
note_lines() { lines_before=$((lines_before + $(stat_sum lines_in_total))); }
# A checkpoint after `id` completed: the (re)started data plane reads,
# aggregates and writes.

start_ringflow
wait_for "partitions assigned" 60 bash -c "'$BIN/ringflowctl' -s '$RF_SOCK' status | grep -q 'sflow\[3\]'"
"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 8 -r 1500 -X compression.codec=lz4 \
	< "$dir/data.csv" &
prod_pid=$!
wait_for "a first checkpoint" 30 ckpt_after 0

# Before each fault there must be open windows to lose; after it, the new
# data plane must read again (lines_in grows past its value at the fault:
# the replay from the checkpoint) and complete a checkpoint of its own.
has_state() { [ "$(stat_sum live_keys)" -gt 0 ]; }
reads_again() { [ "$(stat_sum lines_in_total)" -gt "$1" ]; }
recovered() {
	local what=$1 lines=$2 id=$3
	wait_for "reading again after $what" 60 reads_again "$lines"
	wait_for "a checkpoint after $what" 60 ckpt_after "$(ckpt_id)"
	echo "  reading again after $what (lines_in $lines -> $(stat_sum lines_in_total)), checkpoint $(ckpt_id)"
}

# 1. Each data-plane role, in turn.
for role in ingest transform aggregate writer; do
	wait_for "open windows" 30 has_state
	before=$(ckpt_id) restarts=$(stat1 restarts_total) at_kill=$(stat_sum lines_in_total)
	pid=$(role_pid "$role")
	kill -9 "$pid"
	echo "killed $role 0 (pid $pid) after checkpoint $before, $(stat_sum live_keys) live keys"
	wait_for "data-plane restart after killing $role" 20 \
		bash -c "[ \"\$('$BIN/ringflowctl' -s '$RF_SOCK' stats | awk '\$1 == \"ringflow_restarts_total\" { print \$2 }')\" -gt $restarts ]"
	recovered "the $role restart" "$at_kill" "$before"
done

# 2. The supervisor: its children must follow it (PR_SET_PDEATHSIG).
wait_for "open windows" 30 has_state
before=$(ckpt_id)
note_lines
children=$(pgrep -P "$rf_pid" | tr '\n' ' ')
kill -9 "$rf_pid"
wait "$rf_pid" 2>/dev/null || true
echo "killed the supervisor (pid $rf_pid; children $children) after checkpoint $before"
children_gone() { for c in $children; do kill -0 "$c" 2>/dev/null && return 1; done; return 0; }
wait_for "every child to exit after the supervisor died" 5 children_gone
start_ringflow
recovered "the supervisor restart" 0 "$before"

# 3. InfluxDB away for 30 s. Once the writer holds points it cannot
# deliver, no checkpoint may complete (at most the one whose barrier had
# already passed the writer).
influxd_stop
outage_start=$SECONDS
retries0=$(stat_sum write_retries_total)
writer_blocked() { [ "$(stat_sum write_retries_total)" -gt "$retries0" ]; }
wait_for "the writer to meet the outage" 30 writer_blocked
blocked_at=$(ckpt_id)
echo "influxd stopped; the writer retries since checkpoint $blocked_at"
left=$((30 - (SECONDS - outage_start)))
[ "$left" -gt 0 ] && sleep "$left"   # the length of the outage, not a synchronisation
during=$(ckpt_id)
echo "after 30 s without influxd: last checkpoint $during, $(stat_sum write_retries_total) write retries"
[ "$during" -le $((blocked_at + 1)) ] || { echo "checkpoints completed while InfluxDB was down" >&2; exit 1; }
INFLUXD_HTTP_PORT=$INFLUX_PORT influxd_start "$INFLUX_DIR"
wait_for "checkpoints after InfluxDB came back" 90 ckpt_after "$during"
echo "influxd back; checkpoint $(ckpt_id) completed"

# 4. Graceful stop and start.
note_lines
ctl status | sed -n '/last checkpoint/,$p'
rf_stop_group TERM 60 || { echo "SIGTERM to the process group: ringflow did not exit 0" >&2; exit 1; }
grep -q "stopped cleanly" "$dir/ringflow.log"
# ... and start again with 3 aggregate processes instead of 2: the state
# of 2 is re-sharded by key hash over 3.
sed -i 's/^aggregate *= *2/aggregate = 3/' "$dir/rf.ini"
start_ringflow

wait "$prod_pid"
prod_pid=
# Everything produced was read: every partition at its high watermark.
caught_up() {
	ctl status | awk '/^  sflow\[/ { n++; if ($NF != 0) bad = 1 } END { exit !(n == 4 && !bad) }'
}
wait_for "ringflow to catch up with the topic" 120 caught_up
windows_done() {
	[ "$(stat_sum live_keys)" -eq 0 ] &&
	[ "$(stat_sum points_emitted_total)" -gt 0 ] &&
	[ "$(stat_sum points_written_total)" -eq "$(stat_sum points_emitted_total)" ]
}
wait_for "all windows emitted and written" 120 windows_done
note_lines
late=$(stat_sum rows_late_total)
ctl status | sed -n '/consumer lag/,$p'
ctl stop > /dev/null
wait_exit "$rf_pid" 60
rf_pid=
# The final checkpoint's offsets reached the consumer group, where lag
# tools look: committed = high watermark on every partition.
"$BIN/kafka-committed" -b "$KAFKA_BROKERS" -g faults -t sflow -n 4 > "$dir/committed.txt"
awk '$2 != $3 { bad = 1; print "partition " $1 ": committed " $2 ", high watermark " $3 > "/dev/stderr" }
     END { exit bad }' "$dir/committed.txt"
echo "committed offsets in the group: $(awk '{ printf "%s%s", sep, $2; sep = " " }' "$dir/committed.txt")"

echo "$runs ringflow runs read $lines_before lines for $lines produced: $((lines_before - lines)) read again after the faults"
grep -E "crashed|restored|resuming|final checkpoint" "$dir/ringflow.log" | sed 's/^/  log: /'
# The faults hit open windows: at least five restores brought some back.
restores=$(grep -c "restored [1-9][0-9]* windows" "$dir/ringflow.log" || true)
grep -q "aggregate 2: info: checkpoint [0-9]*: restored [1-9]" "$dir/ringflow.log" ||
	{ echo "the third aggregate process restored nothing after re-sharding" >&2; exit 1; }
[ "$restores" -ge 5 ] || { echo "only $restores restores with open windows: the faults missed the state" >&2; exit 1; }
[ "$late" -eq 0 ] || { echo "$late rows late in the last run" >&2; exit 1; }
python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_faults
echo "checkpoint faults: OK"
