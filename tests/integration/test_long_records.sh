#!/usr/bin/env bash
# Records at the edges of a frame, handled whole or rejected whole and
# counted, whatever ring_size: with 64K rings (16 KiB frames) a 20 KB line
# is rejected by ingest (lines_too_long_total), a row larger than a frame
# by transform (rows_too_long_total; rows up to a frame pass, 9 KB here,
# where 8 KiB used to be the limit), a point longer than a frame by
# aggregate (points_too_long_total; it used to be cut mid-line). With 1M
# rings every one of them goes through. The points written must be
# exactly those a small independent computation expects, nothing cut.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-long-XXXXXX)
rf_pid=
cleanup() {
	set +e
	[ -n "$rf_pid" ] && kill -9 "$rf_pid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

python3 - "$dir/in.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(300):
        k = "abcde"[i % 5]
        f.write(f"{1700000000 + i % 5},{k},v{k},{i}\n")
    f.write(f"1700000003,{'L' * 20000},a,1\n")                      # line > frame
    f.write(f"1700000003,{'K' * 9000},b,2\n")                       # dup row > frame
    f.write(f"1700000003,x{'= ' * 2999}x,{'y' * 5000},3\n")         # points > frame
PY

conf() {   # RING
	cat <<EOF
[ringflow]
name = long
state_dir = $dir/state
run_dir = $dir/run
[processes]
transform = 2
aggregate = 2
ring_size = $1
[input]
type = file
path = $dir/in.csv
fields = timestamp:int, k, v, n:int
time_field = timestamp
[transform]
k = k
kk = k
v = v
n = n
[aggregate.long]
window = 10s
key = k
n = sum(n)
lv = last(v)
[aggregate.dup]
window = 10s
key = k
lk = last(kk)
[output]
type = file
path = $dir/out.fifo
EOF
}

count_is() { [ "$(stat_sum "$1")" -eq "$2" ]; }
count_ge() { [ "$(stat_sum "$1")" -ge "$2" ]; }
# run RING LINES_TOO_LONG ROWS_TOO_LONG POINTS_TOO_LONG: the writer blocks
# opening the output FIFO, so ringflow stays up with every counter
# published until the test reads the output.
run() {
	local ring=$1
	rm -f "$dir/out.fifo"
	mkfifo "$dir/out.fifo"
	conf "$ring" > "$dir/rf.ini"
	"$BIN/ringflow" -t -c "$dir/rf.ini" > /dev/null
	"$BIN/ringflow" -c "$dir/rf.ini" 2> "$dir/ringflow-$ring.log" &
	rf_pid=$!
	RF_SOCK=$dir/run/long.sock
	export WAIT_FOR_PID=$rf_pid
	wait_for "control socket" 20 test -S "$RF_SOCK"
	wait_for "$ring: every line read" 30 count_is lines_in_total 303
	# End of input closes the window: each rule emits it from each aggregate.
	wait_for "$ring: the windows emitted" 30 count_is windows_emitted_total 4
	local got
	got="$(stat_sum lines_too_long_total) $(stat_sum rows_too_long_total) $(stat_sum points_too_long_total)"
	echo "$ring: too long: lines rows points = $got"
	[ "$got" = "$2 $3 $4" ] || { echo "$ring: want $2 $3 $4" >&2; cat "$dir/ringflow-$ring.log" >&2; exit 1; }
	count_is restarts_total 0
	timeout 60 cat "$dir/out.fifo" > "$dir/out-$ring.lp"
	wait_exit "$rf_pid" 30
	rf_pid= WAIT_FOR_PID=
	grep -q "input ended and the pipeline drained" "$dir/ringflow-$ring.log"
	python3 - "$dir/in.csv" "$dir/out-$ring.lp" "$ring" <<'PY'
import collections, sys
path, out, ring = sys.argv[1:]
def tag(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
def strf(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
small = ring == "64K"      # frames of 16 KiB; every size below is far from it
n, last = collections.Counter(), {}
for line in open(path):
    ts, k, v, num = line.rstrip("\n").split(",")
    if small and len(line) > 16000:
        continue                   # rejected by ingest
    n[k] += int(num)
    last[k] = v                    # one value per key: the last by event time
want = set()
W = 1700000000 * 10**9
for k in n:
    p = f"long,k={tag(k)} n={n[k]}i,lv={strf(last[k])} {W}"
    if not (small and len(p) + 1 > 16000):
        want.add(p)
    d = f"dup,k={tag(k)} lk={strf(k)} {W}"
    row = 32 + 2 + len(k) + 3 + len(k)
    if not (small and (row > 16000 or len(d) + 1 > 16000)):
        want.add(d)
lines = [l.rstrip("\n") for l in open(out)]
got = set(lines)
assert len(got) == len(lines), "duplicate points"
if got != want:
    print("missing:", [p[:80] for p in want - got][:5])
    print("unexpected:", [p[:80] for p in got - want][:5])
    sys.exit(1)
print(f"{ring}: {len(got)} points, each whole, as expected")
PY
}
run 64K 1 1 2
run 1M 0 0 0
