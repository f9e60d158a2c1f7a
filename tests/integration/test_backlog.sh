#!/usr/bin/env bash
# Backlogs the way real ones look, through the Kafka protocol (the mock,
# 4 partitions of very different sizes: 55/30/10/5 % of the records, each
# spanning the whole time range), lateness = 20s, into a real influxd:
#   1. preloaded before ringflow starts (start = earliest); again with
#      watermark alignment (max_skew) pausing the partitions that run ahead;
#   2. filled one partition after the other while ringflow runs;
#   3. streamed unevenly, with a kill -9 of the ingest mid-stream: the
#      restarted data plane replays from the checkpoint.
# Every partition assigned to an ingest holds windows back until it delivers
# (or is quiet for idle_timeout), so in each case InfluxDB must equal
# reference.py's independent computation exactly and rows_late_total = 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-backlog-XXXXXX)
rf_pid= bg_pids=
trap it_cleanup EXIT

influxd_start "$dir/influx"
kafka_start "$dir/kafka" pre:4 seq:4 kill:4

"$BIN/gen-sflow" --seed 31 --records 60000 --rate 300 --start $(( $(date +%s) / 10 * 10 - 7200 )) \
	--disorder 8 --junk 0.02 --counters 5 --sources 2000 > "$dir/data.csv"
lines=$(wc -l < "$dir/data.csv")
# Uneven partitions, each over the whole time range, in input order.
awk -v d="$dir" '{ k = NR % 20; p = k < 11 ? 0 : k < 17 ? 1 : k < 19 ? 2 : 3; print > (d "/part" p ".csv") }' \
	"$dir/data.csv"
wc -l "$dir"/part?.csv | sed 's/^/  /'
produce() {   # TOPIC PARTITION [kafka-produce options]
	local t=$1 p=$2
	shift 2
	"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t "$t" -P "$p" -l 8 -X compression.codec=zstd "$@" \
		< "$dir/part$p.csv"
}

# run NAME TOPIC [extra sed]: config and start ringflow for one case.
run() {
	local name=$1 topic=$2
	shift 2
	mkdir -p "$dir/$name"
	rules_conf "$dir/$name" \
		"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = $topic\ngroup = $name\nstart = earliest\nkafka.session.timeout.ms = 6000" \
		"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_$name\nretention = 1d\nbatch_points = 2000" \
		"s|^lateness .*|lateness    = 20s|" "$@" > "$dir/$name/rf.ini"
	"$BIN/ringflow" -t -c "$dir/$name/rf.ini" > /dev/null
	RF_SOCK=$dir/$name/run/it.sock
	rf_start "$dir/$name/ringflow.log" -c "$dir/$name/rf.ini"
	WAIT_FOR_PID=$rf_pid wait_for "control socket" 20 test -S "$RF_SOCK"
}
assigned() { ctl status | grep -q "$1\[3\]"; }
read_all() { [ "$(stat_sum lines_in_total)" -ge "$lines" ]; }
# finish NAME: everything read, every window emitted and written, none
# late; stop; compare with the reference.
finish() {
	local name=$1
	WAIT_FOR_PID=$rf_pid wait_for "$name: all $lines lines read" 120 read_all
	WAIT_FOR_PID=$rf_pid wait_for "$name: all windows emitted and written" 120 windows_done
	local late
	late=$(stat_sum rows_late_total)
	# Nothing else vanished either (each drop reason has its counter).
	[ "$(stat_sum nomem_total)" -eq 0 ] && [ "$(stat_sum values_nonfinite_total)" -eq 0 ] &&
		[ "$(stat_sum rows_too_long_total)" -eq 0 ] && [ "$(stat_sum points_too_long_total)" -eq 0 ] ||
		{ echo "$name: rows lost to memory, NaN or size" >&2; return 1; }
	echo "$name: $(stat_sum lines_in_total) lines in, $(stat_sum points_written_total) points, $late late"
	# Stopped as systemd stops it: SIGTERM to the whole process group.
	rf_stop_group TERM 60
	grep -q "stopped cleanly" "$dir/$name/ringflow.log"
	if [ "$late" -ne 0 ]; then
		grep -E "late|assigned|restor" "$dir/$name/ringflow.log" | head -20
		echo "$name: $late rows dropped as late" >&2
		return 1
	fi
	python3 tests/integration/reference.py --data "$dir/data.csv" \
		--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db "rf_$name"
}

# 1. Preloaded, then read from the earliest offsets.
for p in 0 1 2 3; do produce pre $p; done
run pre pre "s|^idle_timeout .*|idle_timeout = 5s|"
finish pre

# 1b. The same preloaded backlog with watermark alignment at work: a small
# librdkafka prefetch (as a backlog larger than the prefetch behaves) and
# max_skew = 10s pause the sparse partitions, which run ahead in event
# time. A paused partition must keep holding windows back (it is not idle):
# still exact, nothing late.
run align pre "s|^idle_timeout .*|idle_timeout = 2s\nmax_skew = 10s\nkafka.queued.max.messages.kbytes = 64|"
finish align
grep -q "paused [0-9]* partition(s) whose event time ran more than max_skew" "$dir/align/ringflow.log" ||
	{ echo "align: max_skew never paused a partition: the case tests nothing" >&2; exit 1; }

# 2. One partition after the other while ringflow runs; idle_timeout leaves
# room for the whole filling (a partition quiet that long stops holding
# windows back, by definition).
run seq seq "s|^idle_timeout .*|idle_timeout = 20s|"
WAIT_FOR_PID=$rf_pid wait_for "seq: partitions assigned" 60 assigned seq
for p in 0 1 2 3; do
	produce seq $p
done
finish seq

# 3. Streamed unevenly (each partition at its share of 3000 lines/s), kill -9
# of the ingest once a checkpoint completed with open windows.
run kill kill "s|^idle_timeout .*|idle_timeout = 5s|" \
	"s|^log_level .*|log_level = info\ncheckpoint_interval = 1s|"
WAIT_FOR_PID=$rf_pid wait_for "kill: partitions assigned" 60 assigned kill
for p in 0 1 2 3; do
	produce kill $p -r $(( $(wc -l < "$dir/part$p.csv") / 20 )) &
	bg_pids="$bg_pids $!"
done
# A checkpoint taken while windows are open, so the restart has state to restore.
WAIT_FOR_PID=$rf_pid wait_for "kill: open windows" 30 bash -c "[ \"\$(source tests/integration/lib.sh; RF_SOCK=$RF_SOCK stat_sum live_keys)\" -gt 0 ]"
WAIT_FOR_PID=$rf_pid wait_for "kill: a checkpoint with open windows" 30 ckpt_after "$(ckpt_id)"
pid=$(ctl status | awk '$1 == "ingest" && $2 == "0" && $3 ~ /^[1-9][0-9]*$/ { print $3 }')
kill -9 "$pid"
echo "kill: killed ingest 0 (pid $pid) after checkpoint $(ckpt_id)"
for p in $bg_pids; do wait "$p"; done
bg_pids=
finish kill
grep -q "restored [1-9][0-9]* windows" "$dir/kill/ringflow.log" ||
	{ echo "kill: the restart restored no open windows" >&2; exit 1; }
echo "backlogs: OK"
