#!/usr/bin/env bash
# Outages and bad input on the real pipeline (issue 2, "Bad input gets a
# clear answer, and nothing is lost"): librdkafka's mock cluster -> ringflow
# (2 transforms, 2 aggregates) -> a real influxd, with
#   1. every Kafka broker down before ringflow starts, up a while later;
#   2. every broker down for ~10 s while data streams;
#   3. influxd stopped for ~12 s while windows close, then restarted on the
#      same port and data directory;
#   4. a truncated country .mmdb (`ringflow -t` and `ringflow -c` refuse it),
#      and a corrupt one that opens but fails lookups (counted per lookup).
# Each fault must show up as a counter in `ringflowctl stats` and a log line,
# crash nothing, and lose nothing: afterwards InfluxDB holds exactly what
# reference.py computes independently from the streamed lines.
#
# Event times follow the wall clock (gen-sflow --realtime), as live sFlow
# does, so an outage shorter than `lateness` (30 s) must not make anything
# late: the whole-input idle rule (idle_timeout = 2s) moves the watermark to
# the wall clock during the outage, never past records still to come.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-outages-XXXXXX)
rf_pid= gen_pid= rf_log=
# No errexit here: a kill of an already dead process must not skip the rest
# and leave influxd running.
cleanup() {
	set +e
	# The generator subshell's children (gen-sflow, tee, kafka-produce) first.
	[ -n "$gen_pid" ] && kill $(ps -o pid= --ppid "$gen_pid") "$gen_pid" 2>/dev/null
	rf_kill_group
	kafka_stop
	influxd_stop
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -f "$rf_log" ] && tail -n 30 "$rf_log" >&2
	exit 1
}
say() { echo "== $*"; }
# known_gap MESSAGE: a requirement ringflow does not meet yet (see the
# report that came with this test); fatal with RF_STRICT_GAPS=1.
known_gap() {
	[ -n "${RF_STRICT_GAPS:-}" ] && fail "$1"
	echo "KNOWN GAP: $1"
}
# logged PATTERN: the ringflow log has a line matching the extended regex.
logged() { grep -Eq -- "$1" "$rf_log"; }
# rf_alive: the supervisor runs and no data-plane process was restarted.
rf_alive() {
	kill -0 "$rf_pid" 2>/dev/null || fail "ringflow exited: $(wait "$rf_pid"; echo "status $?")"
	[ "$(stat_sum restarts_total)" -eq 0 ] || fail "the data plane was restarted"
	ctl status | awk '$1 ~ /^(ingest|transform|aggregate|writer)$/ && $3 ~ /^[0-9]+$/ && $4 != "running" { bad = 1 }
		END { exit bad }' || { ctl status >&2; fail "a process is not running"; }
}

# rfconf INPUT OUTPUT MMDB: the test rules with the country database MMDB.
rfconf() { rules_conf "$dir" "$1" "$2" "s|^country = .*|country = $3|"; }
good_mmdb=$PWD/data/mmdb/GeoIP2-Country-Test.mmdb

# --- 4a. A truncated country database: refused before anything starts. -------
say "corrupt .mmdb: ringflow -t and -c refuse it"
size=$(stat -c %s "$good_mmdb")
head -c $((size / 2)) "$good_mmdb" > "$dir/truncated.mmdb"
: > "$dir/empty.mmdb"
for db in truncated empty; do
	rfconf "type = file\npath = /dev/null" "type = file\npath = $dir/$db.lp" "$dir/$db.mmdb" \
		> "$dir/$db.ini"
	want="[geoip] country: cannot open '$dir/$db.mmdb': "
	for mode in -t run; do
		rc=0
		if [ "$mode" = -t ]; then
			"$BIN/ringflow" -t -c "$dir/$db.ini" > "$dir/out" 2> "$dir/err" || rc=$?
		else
			# A run that got past the check would read /dev/null,
			# drain, write the (empty) output file and exit 0.
			timeout 30 "$BIN/ringflow" -c "$dir/$db.ini" > "$dir/out" 2> "$dir/err" || rc=$?
		fi
		[ $rc -eq 78 ] || { cat "$dir/out" "$dir/err" >&2; fail "$db.mmdb, ringflow $mode: exit $rc, want 78"; }
		grep -qF -- "$want" "$dir/err" || { cat "$dir/err" >&2; fail "$db.mmdb, $mode: no '$want'"; }
		[ ! -e "$dir/$db.lp" ] || fail "$db.mmdb, $mode: the pipeline ran and wrote output"
		echo "refused ($db.mmdb, $mode): $(grep -F -- "$want" "$dir/err" | head -n 1)"
	done
done

# --- 4b. A corrupt database that opens: each failed lookup is counted. -------
# MaxMind's broken-pointers test database opens, but looking up 1.1.1.16
# hits bad data and 1.1.1.32 a corrupt search tree (ST_ERROR, counted in
# geoip_error_total); 1.1.1.1 (a path that does not match) and 81.2.69.142
# (not in it) are merely unknown. Input is a FIFO so that ringflow is still
# running (stats readable) after the lines went through; closing it ends the
# input, and the pipeline drains and exits 0.
say "corrupt .mmdb that opens: failed lookups are counted"
mkfifo "$dir/geo.fifo"
rfconf "type = file\npath = $dir/geo.fifo" "type = file\npath = $dir/geo.lp" \
	"$PWD/data/mmdb/bad-data/MaxMind-DB-test-broken-pointers-24.mmdb" > "$dir/geo.ini"
rf_log=$dir/geo.log
rf_start "$rf_log" -c "$dir/geo.ini"
WAIT_FOR_PID=$rf_pid
RF_SOCK=$dir/run/it.sock
# Read-write: the open never blocks, even if ringflow failed before opening
# its end (then the control-socket wait below reports it).
exec 3<> "$dir/geo.fifo"
for ip in 1.1.1.16 1.1.1.16 1.1.1.16 1.1.1.32 1.1.1.32 1.1.1.1 81.2.69.142; do
	echo "$(date +%s),FLOW,10.0.0.3,18,16,b8ca3af6e620,3c8ab0ab2e2f,0x0800,0,0,$ip,1.0.0.153,6,0x10,241,59755,3306,0x10,115,97,4096"
done >&3
wait_for "control socket" 30 test -S "$RF_SOCK"
seven_records() { [ "$(stat_sum records_ok_total)" -eq 7 ]; }
wait_for "the 7 records through transform" 30 seven_records
rf_alive
[ "$(stat_sum geoip_error_total)" -eq 5 ] || fail "geoip_error_total $(stat_sum geoip_error_total), want 5"
[ "$(stat_sum geoip_unknown_total)" -eq 2 ] || fail "geoip_unknown_total $(stat_sum geoip_unknown_total), want 2"
echo "geoip_error_total 5, geoip_unknown_total 2, as expected"
logged 'transform [01]: (warn|error): .*[Gg]eo[Ii][Pp]' ||
	known_gap "no log line about failed GeoIP lookups (transform logs nothing for geoip_error_total)"
exec 3>&-
wait_exit "$rf_pid" 60 || fail "ringflow did not finish the FIFO input"
rf_pid= WAIT_FOR_PID=

# --- Live pipeline for scenarios 1-3. ---------------------------------------
influxd_start "$dir/influx"
kafka_start "$dir/kafka" sflow:4
# The default session timeout (45 s) outlives the 10 s outage, so the group
# member survives it; see the report for what a longer outage does.
rfconf "type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = outages\nstart = earliest" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_outages\nretention = 1d\nbatch_points = 500" \
	"$good_mmdb" > "$dir/rf.ini"
"$BIN/ringflow" -t -c "$dir/rf.ini"

# --- 1. Kafka down at start. -------------------------------------------------
say "1. Kafka down before ringflow starts"
kafka_down
rf_log=$dir/ringflow.log
rf_start "$rf_log" -c "$dir/rf.ini"
WAIT_FOR_PID=$rf_pid
down_at=$SECONDS
RF_SOCK=$dir/run/it.sock
wait_for "control socket" 30 test -S "$RF_SOCK"
kafka_errors() { stat_sum kafka_errors_total; }
some_errors() { [ "$(kafka_errors)" -gt 0 ]; }
wait_for "kafka_errors_total > 0 with every broker down" 30 some_errors
wait_for "a log line about the unreachable brokers" 10 \
	logged 'ingest 0: (warn|error): .*(ALL_BROKERS_DOWN|Connection refused)'
ctl status | grep -q 'no partitions assigned yet' || { ctl status >&2; fail "status: partitions assigned while Kafka is down"; }
# The brokers stay down 5 s (the fault's length, not a settle time): long
# enough for librdkafka to retry and for an ingest that gave up to be gone.
sleep $((5 - (SECONDS - down_at) > 0 ? 5 - (SECONDS - down_at) : 0))
rf_alive
echo "kafka_errors_total $(kafka_errors); log: $(grep -E 'ALL_BROKERS_DOWN|Connection refused' "$rf_log" | head -n 1)"
kafka_up
assigned() { ctl status | grep -q 'sflow\[3\]'; }
wait_for "partitions assigned once the brokers are up" 60 assigned
rf_alive

# --- Stream: wall-clock event times, ~60 s at 1000 records/s. ----------------
# tee keeps the exact lines for reference.py. kafka-produce never drops and
# retries through the outage (message.timeout.ms well above it); a failed
# delivery makes it exit non-zero, checked below.
# A fixed seed and a start on a window boundary put the same records in the
# same windows on every run, so a failure can be reproduced. (count_distinct
# is exact up to 1536 values per key and window, which covers every key
# here.)
start=$(( ($(date +%s) / 10 + 1) * 10 ))
( "$BIN/gen-sflow" --seed 7 --records 60000 --rate 1000 --realtime --start "$start" \
	--disorder 4 --junk 0.02 --counters 5 --sources 1500 | tee "$dir/data.csv" |
  "$BIN/kafka-produce" -b "$KAFKA_BROKERS" -t sflow -l 8 -X message.timeout.ms=300000 \
	2> "$dir/produce.log" ) &
gen_pid=$!
lines_in() { stat_sum lines_in_total; }
lines_at_least() { [ "$(lines_in)" -ge "$1" ]; }

# --- 2. Kafka down mid-stream. -----------------------------------------------
wait_for "the first 8000 lines" 60 lines_at_least 8000
say "2. Kafka down for 10 s mid-stream (at $(lines_in) lines)"
errors_before=$(kafka_errors)
logs_before=$(wc -l < "$rf_log")
kafka_down
down_at=$SECONDS
more_errors() { [ "$(kafka_errors)" -gt "$errors_before" ]; }
wait_for "kafka_errors_total to grow while the brokers are down" 10 more_errors
# The outage itself lasts 10 s; this wait is the fault, not a settle time.
sleep $((10 - (SECONDS - down_at) > 0 ? 10 - (SECONDS - down_at) : 0))
in_outage=$(lines_in)
kafka_up
rf_alive
# grep reads to the end (no -q): with pipefail, tail killed by SIGPIPE after
# an early match would fail the check although the line is there.
tail -n +$((logs_before + 1)) "$rf_log" | grep -E 'ingest 0: (warn|error): .*kafka' > /dev/null ||
	fail "no log line about the Kafka outage"
echo "kafka_errors_total $errors_before -> $(kafka_errors); $in_outage lines in when the brokers came back"
wait_for "consumption to resume" 60 lines_at_least $((in_outage + 2000))

# --- 3. InfluxDB down while windows close. -----------------------------------
# After the first points are stored, so that influxd restarts on data.
some_written() { [ "$(stat_sum points_written_total)" -gt 0 ]; }
wait_for "the first points in InfluxDB" 90 some_written
say "3. InfluxDB down for 12 s while windows close ($(stat_sum points_written_total) points written)"
retries_before=$(stat_sum write_retries_total)
emitted_before=$(stat_sum points_emitted_total)
logs_before=$(wc -l < "$rf_log")
influx_port=$INFLUX_PORT
influxd_stop
down_at=$SECONDS
more_emitted() { [ "$(stat_sum points_emitted_total)" -gt "$emitted_before" ]; }
wait_for "a window to close while InfluxDB is down" 30 more_emitted
sleep $((12 - (SECONDS - down_at) > 0 ? 12 - (SECONDS - down_at) : 0))
# The writer has been retrying for seconds by now; stats should say so while
# it happens, not only once the batch is through.
[ "$(stat_sum write_retries_total)" -gt "$retries_before" ] ||
	fail "write_retries_total still $retries_before during the InfluxDB outage"
rf_alive
written_in_outage=$(stat_sum points_written_total)
emitted_in_outage=$(stat_sum points_emitted_total)
[ "$written_in_outage" -lt "$emitted_in_outage" ] ||
	fail "every emitted point was written while InfluxDB was down?"
INFLUXD_HTTP_PORT=$influx_port influxd_start "$dir/influx"
more_retries() { [ "$(stat_sum write_retries_total)" -gt "$retries_before" ]; }
wait_for "write_retries_total to count the outage" 60 more_retries
tail -n +$((logs_before + 1)) "$rf_log" |
	grep -E 'writer 0: warn: influxdb: POST .*/write: .*retrying' > /dev/null ||
	fail "no log line about InfluxDB being down"
echo "write_retries_total $retries_before -> $(stat_sum write_retries_total); log:" \
	"$(tail -n +$((logs_before + 1)) "$rf_log" | grep -E 'influxdb: POST' | head -n 1)"

# --- The end: every line read, every window closed and written. --------------
wait "$gen_pid" || { cat "$dir/produce.log" >&2; fail "the generator or kafka-produce failed"; }
gen_pid=
lines=$(wc -l < "$dir/data.csv")
say "stream done: $lines lines produced"
wait_for "ringflow to read all $lines lines" 120 lines_at_least "$lines"
windows_done() {
	[ "$(stat_sum live_keys)" -eq 0 ] &&
	[ "$(stat_sum rows_in_total)" -eq "$(stat_sum rows_out_total)" ] &&
	[ "$(stat_sum points_written_total)" -eq "$(stat_sum points_emitted_total)" ]
}
wait_for "all windows emitted and written" 120 windows_done
rf_alive
ctl stats > "$dir/stats.txt"
# Stopped as systemd stops a service: SIGTERM to the whole process group.
WAIT_FOR_PID=
rf_stop_group TERM 60 || fail "SIGTERM to the process group: ringflow did not stop cleanly"
grep -q "stopped cleanly" "$rf_log" || fail "no 'stopped cleanly' after SIGTERM to the process group"

python3 tests/integration/reference.py --data "$dir/data.csv" --stats "$dir/expected.json" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_outages ||
	fail "InfluxDB does not hold the expected points after the outages"

sum() { awk -v m="ringflow_$1" '$1 ~ "^"m"[{]" { s += $2 } END { printf "%d\n", s }' "$dir/stats.txt"; }
python3 - "$dir/expected.json" "$(sum lines_in_total)" "$(sum records_ok_total)" \
	"$(sum records_filtered_total)" "$(sum records_rejected_total)" "$(sum lines_too_long_total)" \
	"$(sum rows_late_total)" "$(sum points_rejected_total)" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
lines, ok, filtered, rejected, too_long, late, refused = map(int, sys.argv[2:])
print(f"ringflow: {lines} in, {ok} ok, {filtered} filtered, {rejected} rejected, {too_long} too long, "
      f"{late} late, {refused} points refused")
assert lines == exp.get("lines", 0), ("lines read once each", lines, exp["lines"])
assert lines == ok + filtered + rejected + too_long, "records vanished"
assert ok == exp.get("ok", 0) and filtered == exp.get("filtered", 0), ("ok/filtered", ok, filtered, exp)
assert rejected + too_long == exp.get("rejected", 0), ("rejected", rejected + too_long, exp["rejected"])
assert late == 0, "outages shorter than lateness made rows late"
assert refused == 0, "InfluxDB refused points"
PY
echo "PASS: outages"
