#!/usr/bin/env bash
# bench-recovery.sh — crash recovery figures of docs/PERFORMANCE.md §5:
# time from kill -9 to reading again, per role and for the supervisor, and
# records read again compared with one checkpoint interval.
#
# Kafka (kafka-mock, 4 partitions) -> ringflow (tests/integration/rules.ini,
# checkpoint_interval RECOVERY_INTERVAL, output to /dev/null so InfluxDB
# does not enter the timing) while a generator produces RECOVERY_RATE lines/s,
# one line per message (so offsets count lines). Each fault waits until the
# pipeline has open windows and a checkpoint newer than the fault before the
# next. "Reading again" = the ingest's lines_in counter grows past its value
# at the kill (for the supervisor: the new instance reads its first line),
# polled every 50 ms.
#
# Knobs: RECOVERY_RATE (default 4000; the mock keeps 5 MB per partition), RECOVERY_INTERVAL (default 1s),
# RECOVERY_ROUNDS (faults per role, default 1), RECOVERY_ASSIGNMENT (ringflow | group, default
# ringflow), RECOVERY_KAFKA_EXTRA (more [input] lines, e.g. "\nkafka.session.timeout.ms = 6000";
# librdkafka's defaults otherwise), KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build/bin}
export BIN
RATE=${RECOVERY_RATE:-4000}
INTERVAL=${RECOVERY_INTERVAL:-1s}
ROUNDS=${RECOVERY_ROUNDS:-1}
ASSIGNMENT=${RECOVERY_ASSIGNMENT:-ringflow}
source tests/lib/kafka.sh
source tests/integration/lib.sh

dir=$(mktemp -d /tmp/rf-recovery-XXXXXX)
rf_pid= prod_pid=
cleanup() {
	set +e   # a failing kill must not cut the cleanup short
	trap - EXIT
	[ -n "$prod_pid" ] && { pkill -P "$prod_pid" 2>/dev/null; kill "$prod_pid" 2>/dev/null; }
	[ -n "$rf_pid" ] && kill -9 "$rf_pid" 2>/dev/null
	kafka_stop >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] && echo "kept $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT

kafka_start "$dir/kafka" sflow:4
rules_conf "$dir" \
	"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = recovery\nstart = earliest\nassignment = $ASSIGNMENT${RECOVERY_KAFKA_EXTRA:-}" \
	"type = file\npath = /dev/null" \
	"s|^log_level .*|log_level = info\ncheckpoint_interval = $INTERVAL|" > "$dir/rf.ini"
RF_SOCK=$dir/run/it.sock
ctl() { "$BIN/ringflowctl" -s "$RF_SOCK" "$@"; }
start_ringflow() {
	"$BIN/ringflow" -c "$dir/rf.ini" 2>> "$dir/ringflow.log" &
	rf_pid=$!
	wait_for "control socket" 20 ctl help > /dev/null
}
ckpt_id() { ctl stats | awk '$1 == "ringflow_checkpoint_last_id" { print $2 }'; }
ckpt_after() { local id; id=$(ckpt_id) && [ -n "$id" ] && [ "$id" -gt "$1" ]; }
has_state() { [ "$(stat_sum live_keys)" -gt 0 ]; }
lines_now() { stat_sum lines_in_total 2>/dev/null || echo 0; }
role_pid() { ctl status | awk -v r="$1" '$1 == r && $2 == "0" && $3 ~ /^[0-9]+$/ { print $3 }'; }
# Seconds from t0 until lines_in exceeds `above`.
time_to_read() {
	local t0=$1 above=$2
	while [ "$(lines_now)" -le "$above" ]; do sleep 0.05; done
	echo "$(date +%s.%N) - $t0" | bc
}

start_ringflow
wait_for "partitions assigned" 60 bash -c "'$BIN/ringflowctl' -s '$RF_SOCK' status | grep -q 'sflow\[3\]'"
( "$BIN/gen-sflow" --seed 5 --records 0 --rate 2000 --start $(( $(date +%s) / 10 * 10 - 7200 )) |
	"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 1 -r "$RATE" -X compression.codec=lz4 ) &
prod_pid=$!
read_before=0   # lines read by ringflow instances that are gone
crashes=0
echo "# recovery (nproc $(nproc), $RATE lines/s produced, checkpoint_interval $INTERVAL, assignment $ASSIGNMENT)"
for round in $(seq "$ROUNDS"); do
	for role in transform aggregate writer ingest supervisor; do
		wait_for "open windows" 30 has_state
		wait_for "a checkpoint" 30 ckpt_after "$(ckpt_id)"
		at=$(lines_now)
		if [ "$role" = supervisor ]; then
			read_before=$((read_before + at))
			t0=$(date +%s.%N)
			kill -9 "$rf_pid"
			wait "$rf_pid" 2>/dev/null || true
			start_ringflow
			secs=$(time_to_read "$t0" 0)
		else
			pid=$(role_pid "$role")
			t0=$(date +%s.%N)
			kill -9 "$pid"
			secs=$(time_to_read "$t0" "$at")
		fi
		crashes=$((crashes + 1))
		printf 'kill -9 %-10s -> reading again after %5.2f s\n' "$role" "$secs"
	done
done
wait_for "a checkpoint" 30 ckpt_after "$(ckpt_id)"
# Stop producing, let ringflow catch up, and count.
pkill -P "$prod_pid" 2>/dev/null || true
wait "$prod_pid" 2>/dev/null || true
prod_pid=
caught_up() { ctl status | awk '/^  sflow\[/ { n++; if ($NF != 0) bad = 1 } END { exit !(n == 4 && !bad) }'; }
wait_for "catching up" 120 caught_up
produced=$(ctl status | awk '/^  sflow\[/ { sub(",", "", $7); s += $7 } END { print s }')
total=$((read_before + $(lines_now)))
again=$((total - produced))
ival_s=$(echo "$INTERVAL" | sed 's/s$//')
echo "lines produced $produced, read $total: $again read again over $crashes crashes ="\
     "$((again / crashes)) per crash; one checkpoint interval is $(echo "$RATE * $ival_s" | bc | cut -d. -f1) lines"
grep -c "restored [1-9]" "$dir/ringflow.log" | sed 's/^/restores with open windows: /'
