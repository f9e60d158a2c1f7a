#!/usr/bin/env bash
# Stopping the way systemd stops (issue 7, item 2). systemd's default
# KillMode=control-group, `kill -TERM -- -PGID` and Ctrl-C at a terminal
# signal every process of ringflow's group at once; the result must be
# that of a signal to the supervisor alone: final checkpoint, exit 0,
# "stopped cleanly", no process left. Kafka (librdkafka's mock cluster, 4
# partitions) -> ringflow (2 transforms, 2 aggregates) -> a real influxd,
# ringflow in a process group of its own (setsid), data streaming:
#   run 1: a SIGTERM to one transform alone is ignored (the process stays,
#          no restart); then SIGTERM to the group with windows open;
#   run 2: resumes from run 1's final checkpoint; SIGHUP to the group is
#          logged and changes nothing; then SIGINT to the group (Ctrl-C);
#   run 3: resumes from run 2's final checkpoint, reads the rest, closes
#          every window; SIGTERM to the group.
# Then InfluxDB must hold exactly what reference.py computes from the whole
# input: open windows went through two stops in checkpoints, not emitted
# half-full and not lost.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/influxd.sh
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-signals-XXXXXX)
rf_pid= bg_pids=
trap it_cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -n "${log:-}" ] && [ -f "$log" ] && tail -n 30 "$log" >&2
	exit 1
}

influxd_start "$dir/influx"
kafka_start "$dir/kafka" sflow:4

"$BIN/gen-sflow" --seed 31 --records 48000 --rate 800 --start $(( $(date +%s) / 10 * 10 - 7200 )) \
	--disorder 8 --junk 0.01 --counters 5 --sources 2000 > "$dir/data.csv"
rules_conf "$dir" \
	"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = signals\nstart = earliest\nkafka.session.timeout.ms = 6000" \
	"type = influxdb\nurl = $INFLUX_URL\ndatabase = rf_signals\nretention = 1d\nbatch_points = 2000" \
	"s|^log_level .*|log_level = info\ncheckpoint_interval = 1s|" > "$dir/rf.ini"
"$BIN/ringflow" -t -c "$dir/rf.ini" > /dev/null

RF_SOCK=$dir/run/it.sock
has_state() { [ "$(stat_sum live_keys)" -gt 0 ]; }
role_pid() { ctl status | awk -v r="$1" '$1 == r && $2 == "0" && $3 ~ /^[1-9][0-9]*$/ { print $3 }'; }
assigned() { ctl status | grep -q 'sflow\[3\]'; }

runs=0 final=0 log=
start_run() {
	runs=$((runs + 1))
	log=$dir/run$runs.log
	rf_start "$log" -c "$dir/rf.ini"
	WAIT_FOR_PID=$rf_pid
	wait_for "control socket (run $runs)" 20 bash -c "'$BIN/ringflowctl' -s '$RF_SOCK' help > /dev/null 2>&1"
	if [ "$final" -gt 0 ]; then
		grep -q "resuming from checkpoint $final\$" "$log" ||
			fail "run $runs does not resume from the last run's final checkpoint $final: $(grep resuming "$log")"
	fi
}
# stop_run SIGNAL: SIGNAL to the whole group; the stop must be the
# graceful one, with the final checkpoint complete.
stop_run() {
	local sig=$1 rc=0 pgid=$rf_pid
	rf_stop_group "$sig" 60 || rc=$?
	WAIT_FOR_PID=
	[ $rc -eq 0 ] || fail "SIG$sig to process group $pgid: exit $rc, want 0"
	grep -q "supervisor: info: SIG$sig: stopping (draining the pipeline)" "$log" ||
		fail "the supervisor did not run the graceful stop on SIG$sig"
	grep -q "stopped cleanly" "$log" || fail "SIG$sig to the group: not 'stopped cleanly'"
	if grep -Eq "died during shutdown|crashed|killed by signal|without draining|did not (complete|drain)" "$log"; then
		grep -E "died during shutdown|crashed|killed by signal|without draining|did not" "$log" >&2
		fail "SIG$sig to the group: the stop was not clean"
	fi
	final=$(sed -n 's/.*graceful stop: final checkpoint \([0-9]*\)$/\1/p' "$log")
	[ -n "$final" ] || fail "no final checkpoint in the log"
	echo "run $runs: SIG$sig to process group $pgid: exit 0, stopped cleanly, final checkpoint $final," \
		"$(grep -c 'ignored: only the supervisor' "$log" || true) children ignored their copy"
}

# --- run 1 -----------------------------------------------------------------
start_run
wait_for "partitions assigned" 60 assigned
"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 8 -r 3000 < "$dir/data.csv" &
bg_pids=$!
wait_for "a first checkpoint" 30 ckpt_after 0
wait_for "open windows" 30 has_state

# A stray SIGTERM to one stage: ignored and logged, nothing restarts.
pid=$(role_pid transform)
kill -TERM "$pid"
wait_for "transform 0 to log the ignored SIGTERM" 10 \
	grep -q "transform 0: info: SIGTERM from pid $$ ignored" "$log"
kill -0 "$pid" || fail "transform 0 (pid $pid) exited on a SIGTERM not from the supervisor"
[ "$(role_pid transform)" = "$pid" ] && [ "$(stat1 restarts_total)" -eq 0 ] ||
	fail "a SIGTERM to transform 0 alone restarted the data plane"
echo "run 1: SIGTERM to transform 0 alone (pid $pid) ignored, no restart"

wait_for "open windows" 30 has_state
echo "run 1: checkpoint $(ckpt_id), $(stat_sum live_keys) live keys, $(stat_sum lines_in_total) lines in"
stop_run TERM
grep -q "transform [01]: info: SIGTERM from pid [0-9]* ignored" "$log" ||
	fail "no stage saw the group's SIGTERM (was it sent to the group?)"

# --- run 2 -----------------------------------------------------------------
start_run
reading() { [ "$(stat_sum lines_in_total)" -gt 0 ]; }
wait_for "run 2 to read" 60 reading
wait_for "a checkpoint in run 2" 60 ckpt_after "$final"
wait_for "open windows" 30 has_state
echo "run 2: checkpoint $(ckpt_id), $(stat_sum live_keys) live keys, $(stat_sum lines_in_total) lines in"
# SIGHUP to the group (a closed terminal): logged by the supervisor,
# ignored by the stages; nothing stops or restarts.
pids=$(ctl status | awk '$1 ~ /^(ingest|transform|aggregate|writer)$/ && $3 ~ /^[1-9][0-9]*$/ { print $3 }' | sort | tr '\n' ' ')
kill -HUP -- "-$rf_pid"
wait_for "the supervisor to log SIGHUP" 10 grep -q "supervisor: warn: SIGHUP: reload is not supported" "$log"
now=$(ctl status | awk '$1 ~ /^(ingest|transform|aggregate|writer)$/ && $3 ~ /^[1-9][0-9]*$/ { print $3 }' | sort | tr '\n' ' ')
[ "$now" = "$pids" ] && [ "$(stat1 restarts_total)" -eq 0 ] || fail "SIGHUP to the group changed the processes: $pids -> $now"
echo "run 2: SIGHUP to the group logged and ignored, same processes"
stop_run INT

# --- run 3 -----------------------------------------------------------------
start_run
wait "$bg_pids" || fail "kafka-produce failed"
bg_pids=
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
late=$(stat_sum rows_late_total)
stop_run TERM
[ "$late" -eq 0 ] || fail "$late rows late in the last run"

python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --influx "$INFLUX_URL" --db rf_signals ||
	fail "InfluxDB does not hold the expected points after stops by process group"
echo "signals to the process group: OK"
