#!/usr/bin/env bash
# bench-backlog.sh — docs/PERFORMANCE.md §7: catching up a preloaded
# backlog of very uneven partitions (70/20/7/3 % of the records, each over
# the whole event-time range, so the sparse ones run ahead in event time),
# once per max_skew value: time to read it all and the peak of the
# aggregates' open-window memory (state_bytes, polled every 50 ms, until
# every window is emitted).
#
# Knobs: BACKLOG_LINES (default 120000), BACKLOG_SKEWS (default "0 10m 2m 30s";
# 0 = no watermark alignment), BACKLOG_KAFKA_EXTRA (more [input] lines, e.g.
# "\nkafka.queued.max.messages.kbytes = 256" to make librdkafka's prefetch
# smaller than the backlog, as a real backlog is), KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build/bin}
export BIN
LINES=${BACKLOG_LINES:-120000}
SKEWS=${BACKLOG_SKEWS:-0 10m 2m 30s}
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-bench-backlog-XXXXXX)
cleanup() {
	set +e
	rf_kill_group
	kafka_stop >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

kafka_start "$dir/kafka" backlog:4
"$BIN/gen-sflow" --seed 9 --records "$LINES" --rate $((LINES / 1200 + 1)) \
	--start $(( $(date +%s) / 10 * 10 - 7200 )) --disorder 8 --sources 20000 > "$dir/data.csv"
awk -v d="$dir" '{ k = NR % 100; p = k < 70 ? 0 : k < 90 ? 1 : k < 97 ? 2 : 3; print > (d "/part" p ".csv") }' \
	"$dir/data.csv"
for p in 0 1 2 3; do
	"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t backlog -P $p -l 8 -X compression.codec=zstd < "$dir/part$p.csv"
done
echo "# backlog catch-up (nproc $(nproc)): $LINES lines over 1200 s of event time, partitions 70/20/7/3 %"
for skew in $SKEWS; do
	rules_conf "$dir/$skew" \
		"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = backlog\ngroup = bench-$skew\nstart = earliest\nmax_skew = $skew${BACKLOG_KAFKA_EXTRA:-}" \
		"type = file\npath = /dev/null" "s|^lateness .*|lateness    = 20s|" > "$dir/rf-$skew.ini"
	mkdir -p "$dir/$skew"
	RF_SOCK=$dir/$skew/run/it.sock
	t0=$(date +%s.%N)
	rf_start "$dir/ringflow-$skew.log" -c "$dir/rf-$skew.ini"
	wait_for "control socket" 20 test -S "$RF_SOCK"
	peak=0 read_s=
	# Until every window is emitted (the last ones after idle_timeout).
	until [ -n "$read_s" ] && windows_done 2>/dev/null; do
		b=$(stat_sum state_bytes 2>/dev/null || echo 0)
		[ "$b" -gt "$peak" ] && peak=$b
		if [ -z "$read_s" ] && [ "$(stat_sum rows_in_total 2>/dev/null || echo 0)" -ge "$(stat_sum rows_out_total 2>/dev/null || echo 1)" ] &&
		   [ "$(stat_sum lines_in_total 2>/dev/null || echo 0)" -ge "$LINES" ]; then
			read_s=$(echo "$(date +%s.%N) - $t0" | bc)
		fi
		sleep 0.05
	done
	late=$(stat_sum rows_late_total)
	rf_stop_group TERM 60
	printf 'max_skew %-4s: read and aggregated in %5.2f s, peak open-window memory %6.1f MB, %s rows late\n' \
		"$skew" "$read_s" "$(echo "$peak / 1000000" | bc -l)" "$late"
done
