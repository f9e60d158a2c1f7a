# lib.sh — helpers shared by the integration tests (sourced).

# stat_sum NAME: sum of ringflow_NAME over every process, from `ringflowctl stats`.
# Fails (status 1, reason on stderr, nothing on stdout) when ringflowctl does
# or when no such metric exists, so a dead ringflow or a misspelt name never
# reads as 0: `[ "$(stat_sum x)" -eq 0 ]` is then false, and under set -e
# `n=$(stat_sum x)` stops the test.
stat_sum() {
	local out rc=0
	out=$("$BIN/ringflowctl" -s "$RF_SOCK" stats) || rc=$?
	if [ $rc -ne 0 ]; then
		echo "stat_sum $1: ringflowctl -s $RF_SOCK stats failed (exit $rc)" >&2
		return 1
	fi
	printf '%s\n' "$out" | awk -v m="ringflow_$1" '
		$1 ~ "^"m"[{]" || $1 == m { s += $2; found = 1 }
		$1 == "#" && $2 == "TYPE" && $3 == m { found = 1 }
		END {
			if (!found) {
				print "stat_sum: no metric " m " in ringflowctl stats" > "/dev/stderr"
				exit 1
			}
			printf "%d\n", s
		}'
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
# If WAIT_FOR_PID is set (e.g. to ringflow's pid) and that process is gone,
# gives up at once instead of polling a dead socket until the deadline.
wait_for() {
	local what=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
		if [ -n "${WAIT_FOR_PID:-}" ] && ! kill -0 "$WAIT_FOR_PID" 2>/dev/null; then
			echo "process $WAIT_FOR_PID exited while waiting for: $what" >&2
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "timed out after ${secs}s waiting for: $what" >&2
			return 1
		fi
		sleep 0.2
	done
}

# wait_exit PID SECONDS: waits for a child process to exit, returns its status.
wait_exit() {
	local pid=$1 secs=$2 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			echo "process $pid still running after ${secs}s" >&2
			return 124
		fi
		sleep 0.1
	done
	wait "$pid"
}

# rules_conf DIR INPUT OUTPUT [SED_EXPR...]: tests/integration/rules.ini on
# stdout with @DIR@, @SRCDIR@ (the repo), @INPUT@ and @OUTPUT@ filled (the
# two sections' bodies, lines separated by \n), then each extra sed
# expression applied.
rules_conf() {
	local d=$1 input=$2 output=$3 e
	shift 3
	local extra=()
	for e in "$@"; do extra+=(-e "$e"); done
	sed -e "s|@DIR@|$d|g; s|@SRCDIR@|$PWD|g" -e "s|@INPUT@|$input|" -e "s|@OUTPUT@|$output|" \
	    "${extra[@]}" tests/integration/rules.ini
}

# rf_start LOG ARGS...: starts "$BIN/ringflow" ARGS in the background in a
# session and process group of its own (setsid), as systemd starts a
# service, stderr appended to LOG. Sets rf_pid, which is also the process
# group id; returns once the group exists.
rf_start() {
	local log=$1
	shift
	setsid "$BIN/ringflow" "$@" 2>> "$log" &
	rf_pid=$!
	local deadline=$((SECONDS + 10))
	until [ "$(ps -o pgid= -p "$rf_pid" 2>/dev/null | tr -d ' ')" = "$rf_pid" ]; do
		if ! kill -0 "$rf_pid" 2>/dev/null; then
			echo "rf_start: ringflow (pid $rf_pid) exited at once; log:" >&2
			tail -n 20 "$log" >&2
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "rf_start: pid $rf_pid did not become a process group leader (setsid forked?)" >&2
			return 1
		fi
		sleep 0.02
	done
}

# rf_group_left PGID: prints the processes left in process group PGID;
# true when there are none.
rf_group_left() {
	local left
	left=$(pgrep -g "$1" -a 2>/dev/null || true)
	[ -z "$left" ] && return 0
	printf '%s\n' "$left"
	return 1
}

# rf_stop_group [SIGNAL] [SECONDS]: stops ringflow the way systemd does
# (KillMode=control-group: SIGNAL, default TERM, to every process of its
# group at once), waits for the supervisor and returns its exit status;
# fails if any process of the group is left. Clears rf_pid.
rf_stop_group() {
	local sig=${1:-TERM} secs=${2:-60} pgid=$rf_pid rc=0
	kill -s "$sig" -- "-$pgid"
	wait_exit "$pgid" "$secs" || rc=$?
	rf_pid=
	if ! rf_group_left "$pgid" > /dev/null; then
		echo "rf_stop_group: processes left in group $pgid after the supervisor exited:" >&2
		rf_group_left "$pgid" >&2
		kill -9 -- "-$pgid" 2>/dev/null
		return 1
	fi
	return $rc
}

# rf_kill_group: for cleanup traps: SIGKILL to ringflow's whole group.
rf_kill_group() {
	[ -n "${rf_pid:-}" ] || return 0
	kill -9 -- "-$rf_pid" 2>/dev/null
	wait "$rf_pid" 2>/dev/null
	rf_pid=
	return 0
}

# ctl ARGS...: ringflowctl on this test's socket ($RF_SOCK).
ctl() { "$BIN/ringflowctl" -s "$RF_SOCK" "$@"; }
# stat1 NAME: the unlabelled metric ringflow_NAME (the supervisor's own).
stat1() { ctl stats | awk -v m="ringflow_$1" '$1 == m { print $2 }'; }
# ckpt_id: the last completed checkpoint; ckpt_after ID: one after ID completed.
ckpt_id() { stat1 checkpoint_last_id; }
ckpt_after() { local id; id=$(ckpt_id) && [ -n "$id" ] && [ "$id" -gt "$1" ]; }

# windows_done: every row reached an aggregate, every window was emitted
# and every point was written (the end of a run that must be exact).
windows_done() {
	[ "$(stat_sum live_keys)" -eq 0 ] &&
	[ "$(stat_sum rows_in_total)" -eq "$(stat_sum rows_out_total)" ] &&
	[ "$(stat_sum points_emitted_total)" -gt 0 ] &&
	[ "$(stat_sum points_written_total)" -eq "$(stat_sum points_emitted_total)" ]
}

# it_cleanup: the EXIT trap of a test (trap it_cleanup EXIT). Kills the
# pids in $bg_pids (producers...) and ringflow's process group, stops the
# Kafka mock and influxd where the test started them, and removes $dir
# unless KEEP is set. A failing step never cuts it short.
it_cleanup() {
	set +e
	local p
	for p in ${bg_pids:-}; do kill "$p" 2>/dev/null; done
	rf_kill_group
	declare -F kafka_stop > /dev/null && kafka_stop
	declare -F influxd_stop > /dev/null && influxd_stop
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
	return 0
}
