#!/usr/bin/env bash
# The edges of the config (issue 7, item 3): "a file that passes -t starts".
#   1. Values start would refuse (or that cannot work) are refused by
#      `ringflow -t`: exit 78 (EX_CONFIG), nothing on stdout, and stderr
#      names the section, the key and the numbers.
#   2. The boundary values that are accepted pass -t AND run: ringflow
#      starts, reads a small file and writes exactly what an independent
#      computation (python below) says, with no restart:
#        - ring_size = 64K, the smallest ring, with input lines of 1 MiB + 1,
#          3 MiB and a 1.5 MiB last line without a newline among normal
#          ones: each long line is rejected once (lines_too_long_total), every
#          normal line is aggregated; read once from a regular file (1 MiB
#          reads) and once from a FIFO (short reads);
#        - window / every = 1000 with 10000 windows open at once, the
#          largest the config allows.
# To read the counters of a finite run, the output is a FIFO: the writer
# blocks opening it, so ringflow stays up (every other stage has finished
# and published its counters) until the test reads the output.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-edges-XXXXXX)
rf_pid=
cleanup() {
	set +e
	[ -n "$rf_pid" ] && kill -9 "$rf_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for l in "$dir"/*.log; do [ -f "$l" ] && { echo "--- $l" >&2; tail -n 20 "$l" >&2; }; done
	exit 1
}

[ -x "$BIN/ringflow" ] || fail "no ringflow binary in $BIN"

# conf [SED_EXPR...]: the base config (file in, file out, 2 transforms and
# 2 aggregates, one rule) on stdout, each sed expression applied.
conf() {
	local e extra=()
	for e in "$@"; do extra+=(-e "$e"); done
	sed "${extra[@]}" <<EOF
[ringflow]
name = edges
state_dir = $dir/state
run_dir = $dir/run
checkpoint_interval = 5s

[processes]
ingest = 1
transform = 2
aggregate = 2
writer = 1
ring_size = 1M

[input]
type = file
path = $dir/in.csv
fields = ts:int, key, v:int
time_field = ts

[transform]
key = key
v = v

[aggregate.sums]
window = 10s
every = 10s
lateness = 0s
key = key
n = count()
s = sum(v)

[output]
type = file
path = $dir/out.lp
EOF
}

# --- 1. refused by -t --------------------------------------------------------
# refused NAME WANT SED_EXPR...: -t exits 78, says WANT on stderr, nothing on stdout.
printf '1,k0,1\n' > "$dir/in.csv"
refused() {
	local name=$1 want=$2 rc=0
	shift 2
	conf "$@" > "$dir/$name.ini"
	"$BIN/ringflow" -t -c "$dir/$name.ini" > "$dir/out" 2> "$dir/err" || rc=$?
	[ $rc -eq 78 ] || { cat "$dir/out" "$dir/err" >&2; fail "$name: ringflow -t exited $rc, want 78"; }
	grep -qF -- "$want" "$dir/err" || { cat "$dir/err" >&2; fail "$name: stderr lacks '$want'"; }
	[ ! -s "$dir/out" ] || { cat "$dir/out" >&2; fail "$name: something on stdout"; }
	echo "refused ($name): $(cat "$dir/err")"
}
refused ring-above-max "[processes] ring_size: 2G is above the largest ring, 1G" 's|^ring_size = .*|ring_size = 2G|'
refused ring-below-min "[processes] ring_size: 32K is below the minimum of 64K" 's|^ring_size = .*|ring_size = 32K|'
refused ring-not-pow2 "[processes] ring_size: 3M is not a power of two" 's|^ring_size = .*|ring_size = 3M|'
refused too-many-procs "[processes] transform: '65' is not auto or a count from 1 to 64" 's|^transform = .*|transform = 65|'
refused hop-1ms-10y "[aggregate.sums] every: window 3650d / every 1ms = 315360000000 windows per record, at most 1000" \
	's|^window = .*|window = 3650d|' 's|^every = .*|every = 1ms|'
refused windows-per-record "[aggregate.sums] every: window 1001s / every 1s = 1001 windows per record, at most 1000" \
	's|^window = .*|window = 1001s|' 's|^every = .*|every = 1s|'
refused open-windows "[aggregate.sums] lateness: window 1000s + lateness 9001s keeps 10001 windows of every 1s open at once, at most 10000" \
	's|^window = .*|window = 1000s|' 's|^every = .*|every = 1s|' 's|^lateness = .*|lateness = 9001s|'
refused every-divides "[aggregate.sums] every: must divide the window evenly" 's|^every = .*|every = 3s|'
refused checkpoint-zero "[ringflow] checkpoint_interval: 0s is outside 100ms to 1d" \
	's|^checkpoint_interval = .*|checkpoint_interval = 0|'
long_dir=$dir/$(printf 'd%.0s' $(seq 1 110))
refused socket-path "[ringflow] run_dir: the control socket '$long_dir/edges.sock' is" "s|^run_dir = .*|run_dir = $long_dir|"
refused output-dir "[output] path: cannot create '$dir/no/such/out.lp'" "s|^path = $dir/out.lp|path = $dir/no/such/out.lp|"

# --- data and the independent computation -------------------------------------
# gen FILE N: N normal records over 20 s of event time, 3 keys; with a
# 1 MiB + 1 line after a third of them, a 3 MiB line after two thirds and a
# 1.5 MiB last line without a newline.
gen() {
	python3 - "$1" "$2" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, 'wb') as f:
    for i in range(n):
        if i == n // 3:
            f.write(b'x' * (2**20 + 1) + b'\n')
        if i == 2 * n // 3:
            f.write(b'y,' * (3 * 2**19) + b'\n')
        f.write(b'%d,k%d,%d\n' % (1700000000 + i * 20 // n, i % 3, i % 100))
    f.write(b'z' * (3 * 2**19))
EOF
}

# check_lp INPUT OUTPUT WINDOW_S EVERY_S: OUTPUT (line protocol) holds
# exactly one point per (window, key) of INPUT's normal records, with
# count and sum; prints "normal long" (line counts) on success.
check_lp() {
	python3 - "$@" <<'EOF'
import re, sys
inp, out, win, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(inp, 'rb').read().split(b'\n')
normal = [l for l in data if re.fullmatch(rb'\d+,k\d+,\d+', l)]
long_ = [l for l in data if len(l) > 2**16]
assert len(normal) + len(long_) == len([l for l in data if l]), 'unexpected lines in the input'
want = {}
for l in normal:
    t, k, v = l.split(b',')
    t, v = int(t), int(v)
    s = t - t % every
    while s > t - win:
        c = want.setdefault((s * 10**9, k.decode()), [0, 0])
        c[0] += 1
        c[1] += v
        s -= every
got = {}
for l in open(out).read().splitlines():
    head, fields, ts = l.split(' ')
    meas, tag = head.split(',')
    assert meas == 'sums' and tag.startswith('key='), l
    f = dict(x.split('=') for x in fields.split(','))
    key = (int(ts), tag[4:])
    assert key not in got, 'point twice: ' + l
    got[key] = [int(f['n'].rstrip('i')), int(f['s'].rstrip('i'))]
missing = [k for k in want if k not in got]
extra = [k for k in got if k not in want]
wrong = [k for k in want if k in got and got[k] != want[k]]
if missing or extra or wrong:
    print('points: %d want, %d got; missing %s extra %s wrong %s' % (len(want), len(got),
          missing[:3], extra[:3], [(k, want[k], got[k]) for k in wrong[:3]]), file=sys.stderr)
    sys.exit(1)
print(len(normal), len(long_), len(want))
EOF
}

N=3000
gen "$dir/long.csv" $N
n_normal=$(python3 -c "import re,sys; print(sum(1 for l in open(sys.argv[1],'rb').read().split(b'\n') if re.fullmatch(rb'\d+,k\d+,\d+', l)))" "$dir/long.csv")
[ "$n_normal" -eq $N ] || fail "generator: $n_normal normal lines, want $N"
n_long=3

# run_counted NAME INPUT_KIND [SED_EXPR...]: runs ringflow on long.csv
# (INPUT_KIND file: read as a regular file; fifo: written into a FIFO),
# output into a FIFO; checks the counters while the writer waits, then
# reads the output and checks the exit and the points.
run_counted() {
	local name=$1 kind=$2
	shift 2
	local input=$dir/long.csv
	[ "$kind" = fifo ] && { input=$dir/$name.in.fifo; mkfifo "$input"; }
	mkfifo "$dir/$name.out.fifo"
	conf "s|^path = $dir/in.csv|path = $input|" "s|^path = $dir/out.lp|path = $dir/$name.out.fifo|" \
		"$@" > "$dir/$name.ini"
	"$BIN/ringflow" -t -c "$dir/$name.ini" > "$dir/out" || fail "$name: -t refused it"
	"$BIN/ringflow" -c "$dir/$name.ini" 2> "$dir/$name.log" &
	rf_pid=$!
	WAIT_FOR_PID=$rf_pid
	RF_SOCK=$dir/run/edges.sock
	if [ "$kind" = fifo ]; then
		# Read-write open never blocks; our read end is closed with it.
		exec 3<> "$input"
		timeout 60 cat "$dir/long.csv" >&3 || fail "$name: could not write the input FIFO"
		exec 3>&-
	fi
	wait_for "$name: control socket" 20 test -S "$RF_SOCK" || fail "$name: ringflow did not start"
	all_read() { [ "$(stat_sum lines_in_total)" -eq $((N + n_long)) ]; }
	all_parsed() { [ "$(stat_sum records_total)" -eq $N ]; }
	wait_for "$name: every line read" 30 all_read || fail "$name: lines_in_total $(stat_sum lines_in_total), want $((N + n_long))"
	wait_for "$name: every record parsed" 30 all_parsed || fail "$name: records_total $(stat_sum records_total), want $N"
	local too_long ok restarts
	too_long=$(stat_sum lines_too_long_total)
	ok=$(stat_sum records_ok_total)
	restarts=$(stat_sum restarts_total)
	[ "$too_long" -eq $n_long ] || fail "$name: lines_too_long_total $too_long, want $n_long (each long line once)"
	[ "$ok" -eq $N ] || fail "$name: records_ok_total $ok, want $N"
	[ "$restarts" -eq 0 ] || fail "$name: the data plane restarted $restarts times"
	timeout 60 cat "$dir/$name.out.fifo" > "$dir/$name.lp" || fail "$name: reading the output FIFO"
	local rc=0
	wait_exit "$rf_pid" 30 || rc=$?
	rf_pid= WAIT_FOR_PID=
	[ $rc -eq 0 ] || fail "$name: ringflow exited $rc"
	grep -q "input ended and the pipeline drained" "$dir/$name.log" || fail "$name: no clean end in the log"
	! grep -q "crashed" "$dir/$name.log" || fail "$name: a process crashed"
	local res
	res=$(check_lp "$dir/long.csv" "$dir/$name.lp" 10 10) || fail "$name: output differs from the computation"
	echo "ok ($name): lines_too_long_total $too_long, records_ok_total $ok, normal/long/points: $res"
}

# --- 2. accepted boundaries run ----------------------------------------------
run_counted ring-64k-file file 's|^ring_size = .*|ring_size = 64K|'
run_counted ring-64k-fifo fifo 's|^ring_size = .*|ring_size = 64K|'

# The largest window / every (1000) with the most open windows (1000 +
# 9000 = 10000): -t passes, and it runs to the exact result. The records
# span 20 s, so ~1020 windows are open at the end, each closed by the end of
# input.
python3 - "$dir/hop.csv" <<'EOF'
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(600):
        f.write('%d,k%d,%d\n' % (1700000000 + i // 30, i % 3, i % 7))
EOF
conf "s|^path = $dir/in.csv|path = $dir/hop.csv|" "s|^path = $dir/out.lp|path = $dir/hop.lp|" \
	's|^window = .*|window = 1000s|' 's|^every = .*|every = 1s|' 's|^lateness = .*|lateness = 9000s|' \
	> "$dir/hop.ini"
"$BIN/ringflow" -t -c "$dir/hop.ini" || fail "hop: -t refused window / every = 1000"
rc=0
timeout 120 "$BIN/ringflow" -c "$dir/hop.ini" 2> "$dir/hop.log" || rc=$?
[ $rc -eq 0 ] || fail "hop: ringflow exited $rc"
! grep -q "crashed" "$dir/hop.log" || fail "hop: a process crashed"
res=$(check_lp "$dir/hop.csv" "$dir/hop.lp" 1000 1) || fail "hop: output differs from the computation"
echo "ok (window 1000s every 1s lateness 9000s): normal/long/points: $res"
echo "PASS: config edges"
