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
