# lib.sh — helpers shared by the integration tests (sourced).

# stat_sum NAME: sum of ringflow_NAME over every process, from `ringflowctl stats`.
stat_sum() {
	"$BIN/ringflowctl" -s "$RF_SOCK" stats | awk -v m="ringflow_$1" '
		$1 ~ "^"m"[{]" || $1 == m { s += $2 } END { printf "%d\n", s }'
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	local what=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
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
