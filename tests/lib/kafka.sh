# tests/lib/kafka.sh — start and stop a mock Kafka cluster from a bash test.
#
# Source it, then:
#   kafka_start DIR TOPIC:PARTS... [--late TOPIC:PARTS...]
#                                    # starts $BIN/kafka-mock, exports KAFKA_BROKERS, KAFKA_PID
#   ... produce with $BIN/kafka-produce -b "$KAFKA_BROKERS" ..., consume with ringflow or kcat
#   kafka_create_late                # creates the --late topics now, returns once they exist
#   kafka_down / kafka_up            # all brokers refuse connections / accept them again
#   kafka_stop                       # SIGTERM, wait for the exit
#
# BIN defaults to build/bin. Options for kafka-mock (e.g. -b 3 brokers) go in
# KAFKA_MOCK_ARGS. The mock dies with the shell that started it
# (PR_SET_PDEATHSIG), and kafka_stop is safe to call twice, so
# `trap kafka_stop EXIT` is all a test needs. Readiness is a poll on the
# port file, which kafka-mock writes atomically (temp file + rename) once the
# topics exist; there is no fixed sleep.
#
# Late topics (after --late) do not exist until kafka_create_late: for tests
# that start a consumer before its topic. Careful: the mock creates any
# unknown topic that a Metadata request names (with 4 partitions), whatever
# the client's allow.auto.create.topics says, so producing to a late topic,
# `kcat -C -t` or `kcat -L -t` on it, or a group consumer subscribing to it
# creates it early (docs/TESTING-KAFKA.md); kafka_create_late then fails with
# "Topic already exists".

KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-10}

kafka_start() {
	local dir=$1
	shift
	local bin=${BIN:-build/bin}
	local portfile=$dir/kafka.port
	local topics=() t opt=-t
	for t in "$@"; do
		if [ "$t" = --late ]; then
			opt=-L
			continue
		fi
		topics+=("$opt" "$t")
	done
	if [ -z "$dir" ] || [ ${#topics[@]} -eq 0 ]; then
		echo "kafka_start: usage: kafka_start DIR TOPIC:PARTS... [--late TOPIC:PARTS...]" >&2
		return 2
	fi
	KAFKA_CREATED_FILE=
	if [ "$opt" = -L ]; then
		KAFKA_CREATED_FILE=$dir/kafka.created
		topics+=(-c "$KAFKA_CREATED_FILE")
	fi
	mkdir -p "$dir" || return 1
	rm -f "$portfile" "$dir/kafka.created"
	# shellcheck disable=SC2086 # KAFKA_MOCK_ARGS is a word list on purpose
	"$bin/kafka-mock" ${KAFKA_MOCK_ARGS:-} "${topics[@]}" -p "$portfile" \
		>"$dir/kafka.out" 2>"$dir/kafka.log" &
	KAFKA_PID=$!
	export KAFKA_PID
	local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
	while [ ! -s "$portfile" ]; do
		if ! kill -0 "$KAFKA_PID" 2>/dev/null; then
			echo "kafka_start: kafka-mock exited early; log:" >&2
			cat "$dir/kafka.log" >&2
			unset KAFKA_PID
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "kafka_start: no port file after ${KAFKA_START_TIMEOUT}s" >&2
			kafka_stop
			return 1
		fi
		# Short poll interval: the mock is normally up within milliseconds.
		sleep 0.05
	done
	KAFKA_BROKERS=$(cat "$portfile")
	export KAFKA_BROKERS
}

# kafka_create_late: SIGHUP to the mock, which creates the --late topics
# (rd_kafka_mock_topic_create, which returns once the cluster has them) and
# then writes $KAFKA_CREATED_FILE atomically, one "created NAME PARTS" or
# "failed NAME PARTS: REASON" line per late topic. Returns 0 when every
# late topic was created, 1 (with the report on stderr) otherwise. Polls
# the file with a deadline of KAFKA_START_TIMEOUT seconds.
kafka_create_late() {
	if [ -z "${KAFKA_PID:-}" ] || [ -z "${KAFKA_CREATED_FILE:-}" ]; then
		echo "kafka_create_late: no mock running with --late topics" >&2
		return 2
	fi
	rm -f "$KAFKA_CREATED_FILE"
	kill -HUP "$KAFKA_PID" || return 1
	local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
	while [ ! -s "$KAFKA_CREATED_FILE" ]; do
		if ! kill -0 "$KAFKA_PID" 2>/dev/null; then
			echo "kafka_create_late: kafka-mock exited" >&2
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "kafka_create_late: no report in $KAFKA_CREATED_FILE after ${KAFKA_START_TIMEOUT}s" >&2
			return 1
		fi
		sleep 0.05
	done
	if grep -q '^failed' "$KAFKA_CREATED_FILE"; then
		echo "kafka_create_late: the mock could not create every late topic:" >&2
		cat "$KAFKA_CREATED_FILE" >&2
		return 1
	fi
}

kafka_stop() {
	[ -n "${KAFKA_PID:-}" ] || return 0
	kill -TERM "$KAFKA_PID" 2>/dev/null
	wait "$KAFKA_PID" 2>/dev/null
	local rc=$?
	unset KAFKA_PID KAFKA_BROKERS KAFKA_CREATED_FILE
	return $rc
}

# Fault injection: every broker drops its connections and refuses new ones
# (rd_kafka_mock_broker_set_down), then comes back. Partition data is kept.
kafka_down() {
	[ -n "${KAFKA_PID:-}" ] && kill -USR1 "$KAFKA_PID"
}

kafka_up() {
	[ -n "${KAFKA_PID:-}" ] && kill -USR2 "$KAFKA_PID"
}
