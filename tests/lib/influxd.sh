# influxd.sh — a private InfluxDB 1.x server for tests and the demo.
#
# Source it from bash:
#
#   source tests/lib/influxd.sh
#   influxd_start /tmp/somedir      # exports INFLUX_URL, INFLUX_PID, INFLUX_PORT
#   influxd_query mydb 'SELECT * FROM m'
#   influxd_stop
#
# The server keeps everything under DIR (meta/, data/, wal/, influxd.conf,
# influxd.log), listens on 127.0.0.1 only, on free ports, with reporting and
# the _internal monitor database off so it stays quiet and small. Starting it
# again on the same DIR reuses the stored data; set INFLUXD_HTTP_PORT to get
# the same HTTP port back (a client that was retrying against it then
# reconnects). Optional: INFLUXD_MAX_BODY_SIZE (bytes; the server answers 413
# above it), INFLUXD_BIN (default /usr/bin/influxd).
#
# Works as root and as a normal user: nothing outside DIR is written.

_influxd_port_in_use() {
	# A connect that succeeds means someone listens there.
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port that nobody listens on right now. Another process may still
# take it before influxd binds it; influxd_start retries in that case.
_influxd_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! _influxd_port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

_influxd_write_config() {
	local dir=$1 http_port=$2 rpc_port=$3
	local max_body=${INFLUXD_MAX_BODY_SIZE:-25000000}
	cat >"$dir/influxd.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc_port"

[meta]
  dir = "$dir/meta"
  logging-enabled = false

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$http_port"
  log-enabled = false
  pprof-enabled = false
  max-body-size = $max_body

[logging]
  level = "warn"
  suppress-logo = true
EOF
}

# influxd_start DIR: start the server, wait until GET /ping answers 204.
# Returns non-zero (with the log tail on stderr) if it does not come up.
influxd_start() {
	local dir=$1 bin=${INFLUXD_BIN:-/usr/bin/influxd}
	if [ -z "$dir" ]; then
		echo "influxd_start: usage: influxd_start DIR" >&2
		return 2
	fi
	if [ ! -x "$bin" ]; then
		echo "influxd_start: $bin not found (Debian package influxdb)" >&2
		return 2
	fi
	mkdir -p "$dir/meta" "$dir/data" "$dir/wal" || return 1
	dir=$(cd "$dir" && pwd) || return 1

	local attempt http_port rpc_port pid deadline code
	for ((attempt = 0; attempt < 10; attempt++)); do
		http_port=${INFLUXD_HTTP_PORT:-$(_influxd_free_port)} || return 1
		rpc_port=$(_influxd_free_port) || return 1
		[ "$rpc_port" = "$http_port" ] && continue
		_influxd_write_config "$dir" "$http_port" "$rpc_port" || return 1
		: >"$dir/influxd.log"
		"$bin" -config "$dir/influxd.conf" </dev/null >>"$dir/influxd.log" 2>&1 &
		pid=$!
		deadline=$((SECONDS + 30))
		while ((SECONDS < deadline)); do
			if ! _influxd_alive "$pid"; then
				break
			fi
			# "|| true": callers may run under set -e, and curl fails
			# (connection refused) until influxd listens.
			code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' \
				"http://127.0.0.1:$http_port/ping" 2>/dev/null || true)
			if [ "$code" = "204" ]; then
				export INFLUX_URL="http://127.0.0.1:$http_port"
				export INFLUX_PID=$pid
				export INFLUX_PORT=$http_port
				export INFLUX_DIR=$dir
				return 0
			fi
			sleep 0.05
		done
		if _influxd_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			echo "influxd_start: no answer on port $http_port within 30 s" >&2
			tail -n 20 "$dir/influxd.log" >&2
			return 1
		fi
		wait "$pid" 2>/dev/null
		# Lost a race for a port (or a dying predecessor still holds the
		# requested one): try again.
		if grep -q 'address already in use' "$dir/influxd.log"; then
			continue
		fi
		echo "influxd_start: influxd exited" >&2
		tail -n 20 "$dir/influxd.log" >&2
		return 1
	done
	echo "influxd_start: could not bind free ports after $attempt attempts" >&2
	return 1
}

# True while pid runs (a zombie, exited but not yet reaped, counts as gone).
_influxd_alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# influxd_stop: SIGTERM, wait up to 15 s, then SIGKILL. INFLUX_PID may come
# from another shell (it need not be our child), so this polls kill -0.
influxd_stop() {
	local pid=${1:-${INFLUX_PID:-}} deadline
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || { unset INFLUX_PID; return 0; }
	deadline=$((SECONDS + 15))
	while _influxd_alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.05
	done
	_influxd_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset INFLUX_PID
	return 0
}

# influxd_query DB QUERY: prints the JSON answer (epoch=ns timestamps).
influxd_query() {
	local db=$1 q=$2
	curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=$db" \
		--data-urlencode "q=$q" --data-urlencode "epoch=ns"
}
