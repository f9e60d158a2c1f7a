#!/usr/bin/env bash
# Lateness is judged per record, in partition order, so the output does not
# depend on where frames end: one file — event time with disorder, then the
# clock turned back by 200 s, as real exporters do — through ring sizes 64K
# and 64M (frames of 16 KiB and 256 KiB) gives byte-identical points, equal
# to reference.py's per-record model (--lateness), with many late records.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-lateorder-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

gen() { "$BIN/gen-sflow" --rate 100 --disorder 8 --junk 0.01 --counters 5 --sources 2000 "$@"; }
gen --seed 5 --records 40000 --start 1700000000 > "$dir/data.csv"
gen --seed 6 --records 15000 --start 1700000200 >> "$dir/data.csv"

for ring in 64K 64M; do
	mkdir -p "$dir/$ring"
	rules_conf "$dir/$ring" "type = file\npath = $dir/data.csv" "type = file\npath = $dir/$ring/out.lp" \
		"s|^ring_size .*|ring_size = $ring|" "s|^lateness .*|lateness    = 5s|" > "$dir/$ring/rf.ini"
	"$BIN/ringflow" -t -c "$dir/$ring/rf.ini"
	"$BIN/ringflow" -c "$dir/$ring/rf.ini" 2> "$dir/$ring/ringflow.log" || { cat "$dir/$ring/ringflow.log"; exit 1; }
	grep -q "input ended and the pipeline drained" "$dir/$ring/ringflow.log"
	grep -q "dropped as late" "$dir/$ring/ringflow.log"
	sort "$dir/$ring/out.lp" > "$dir/$ring/sorted.lp"
done
[ -s "$dir/64K/sorted.lp" ]
cmp "$dir/64K/sorted.lp" "$dir/64M/sorted.lp" || {
	echo "ring sizes 64K and 64M gave different points:"
	diff "$dir/64K/sorted.lp" "$dir/64M/sorted.lp" | head -20
	exit 1
}
echo "64K and 64M rings: $(wc -l < "$dir/64K/sorted.lp") identical points"
python3 tests/integration/reference.py --data "$dir/data.csv" --geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" \
	--lateness 5 --stats "$dir/expected.json" --lp "$dir/64K/out.lp"
python3 - "$dir/expected.json" <<'PY'
import json, sys
late = json.load(open(sys.argv[1])).get("late", 0)
assert late > 1000, f"the data must make records late ({late})"
PY
