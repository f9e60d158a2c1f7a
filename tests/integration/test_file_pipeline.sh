#!/usr/bin/env bash
# File in, line protocol file out, 2 transforms and 2 aggregates: the points
# must equal reference.py's independent computation, and the record counts
# must add up (in = ok + filtered + rejected).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-file-XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$BIN/gen-sflow" --seed 7 --records 120000 --rate 4000 --start 1700000000 \
	--disorder 8 --junk 0.02 --counters 5 --sources 3000 > "$dir/data.csv"
rules_conf "$dir" "type = file\npath = $dir/data.csv" "type = file\npath = $dir/out.lp" > "$dir/rf.ini"

"$BIN/ringflow" -t -c "$dir/rf.ini"
"$BIN/ringflow" -c "$dir/rf.ini" 2> "$dir/ringflow.log" || { cat "$dir/ringflow.log"; exit 1; }
grep -q "input ended and the pipeline drained" "$dir/ringflow.log"
python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --lp "$dir/out.lp"

# Small rings (issue 7, item 5): ring_full_waits_total counts the times a
# producer found one of its output rings full, and keeps counting across a
# data-plane restart (which resets the rings). 64K rings and the same input
# through a FIFO, so that ringflow is still up (stats readable) while the
# ingest, much faster than the transforms, waits on full rings.
rf_pid=
trap 'set +e; exec 3>&-; [ -n "$feed_pid" ] && kill "$feed_pid" 2>/dev/null; rf_kill_group; rm -rf "$dir"' EXIT
feed_pid=
mkfifo "$dir/in.fifo"
rules_conf "$dir" "type = file\npath = $dir/in.fifo" "type = file\npath = $dir/small.lp" \
	"s|^ring_size .*|ring_size = 64K|" > "$dir/small.ini"
rf_start "$dir/small.log" -c "$dir/small.ini"
WAIT_FOR_PID=$rf_pid
RF_SOCK=$dir/run/it.sock
# Read-write: never blocks, whether or not ringflow has opened its end.
exec 3<> "$dir/in.fifo"
# The first 60000 lines, then nothing until after the restart: the new
# rings count no waits of their own, so what the counter shows after the
# restart is what the old rings counted.
head -n 60000 "$dir/data.csv" >&3 &
feed_pid=$!
ingest_waits() { ctl stats | awk '$1 == "ringflow_ring_full_waits_total{role=\"ingest\",index=\"0\"}" { print $2 }'; }
wait "$feed_pid"
feed_pid=
read_60000() { [ "$(stat_sum lines_in_total)" -ge 60000 ]; }
wait_for "the first 60000 lines read" 30 read_60000
before=$(stat_sum ring_full_waits_total)
[ "$(ingest_waits)" -gt 0 ] || { echo "the ingest never found a 64K ring full" >&2; exit 1; }
pid=$(ctl status | awk '$1 == "transform" && $2 == "0" && $3 ~ /^[1-9][0-9]*$/ { print $3 }')
kill -9 "$pid"
restarted() {
	[ "$(ctl stats | awk '$1 == "ringflow_restarts_total" { print $2 }')" -ge 1 ] &&
	ctl status | grep -q '^ringflow it: .* state running'
}
wait_for "the data plane to restart after killing transform 0" 30 restarted
after=$(stat_sum ring_full_waits_total)
echo "ring_full_waits_total: $before before the restart, $after after it (ingest 0: $(ingest_waits))"
[ "$after" -ge "$before" ] || { echo "ring_full_waits_total went back from $before to $after" >&2; exit 1; }
tail -n +60001 "$dir/data.csv" >&3
exec 3>&-
wait_exit "$rf_pid" 60 || { tail -n 20 "$dir/small.log" >&2; echo "ringflow did not finish the FIFO input" >&2; exit 1; }
rf_pid=
echo "file pipeline: OK"
