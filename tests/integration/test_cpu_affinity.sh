#!/usr/bin/env bash
# [processes] cpu_affinity (docs/OPERATIONS.md "CPU placement"), with the
# real processes and the kernel's view of them (/proc/PID/status
# Cpus_allowed_list):
#   - cpu_affinity = 0: every child is allowed cpu 0 only;
#   - auto: each child is pinned to the cpu the documented formula gives,
#     computed here from this test's own cpus and the [processes] counts;
#     the supervisor stays unpinned;
#   - no: every child is allowed every cpu this test may use;
#   - status has a cpu column, LAST/PINNED, matching the pins;
#   - `ringflow -t` refuses a bad list (0-, a cpu that is not allowed)
#     naming the key.
# The input is a FIFO held open by the test, so ringflow stays up until the
# test closes it; then the run must drain and exit 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-aff-XXXXXX)
rf_pid=
trap 'set +e; exec 3>&- 2>/dev/null; rf_kill_group; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

fail() {
	echo "FAIL: $*" >&2
	for l in "$dir"/*.log; do [ -f "$l" ] && { echo "--- $l" >&2; tail -n 20 "$l" >&2; }; done
	exit 1
}

# expand LIST: a cpulist ("0-2,5") as words ("0 1 2 5").
expand() {
	local item out=()
	IFS=, read -ra items <<< "$1"
	for item in "${items[@]}"; do
		if [[ $item == *-* ]]; then out+=($(seq "${item%-*}" "${item#*-}")); else out+=("$item"); fi
	done
	echo "${out[*]}"
}

# The cpus this test (and so ringflow) may run on; nproc counts the same.
mine=$(awk '$1 == "Cpus_allowed_list:" { print $2 }' /proc/self/status)
read -ra cpus <<< "$(expand "$mine")"
[ "${#cpus[@]}" -eq "$(nproc)" ] || fail "Cpus_allowed_list $mine is ${#cpus[@]} cpus, nproc says $(nproc)"

# tests/integration/rules.ini's counts, in the process table's order
# (ingest 0, transform 0, transform 1, aggregate 0, aggregate 1, writer 0).
grep -q '^ingest    = 1$' tests/integration/rules.ini && grep -q '^transform = 2$' tests/integration/rules.ini &&
	grep -q '^aggregate = 2$' tests/integration/rules.ini && grep -q '^writer    = 1$' tests/integration/rules.ini ||
	fail "rules.ini's [processes] counts changed: update this test"
procs=("ingest 0" "transform 0" "transform 1" "aggregate 0" "aggregate 1" "writer 0")
busy=5   # ingest, transform, aggregate; the writer is the one light process

# The formula of supervisor/placement.h, restated: busy process k on
# cpus[k mod C]; light process j on cpus[B + j mod (C - B)] when C > B,
# else on cpus[(B + j) mod C].
expected_auto() {
	local C=${#cpus[@]} p
	for p in "${!procs[@]}"; do
		if [ "$p" -lt $busy ]; then echo "${cpus[p % C]}"
		elif [ "$C" -gt $busy ]; then echo "${cpus[busy + (p - busy) % (C - busy)]}"
		else echo "${cpus[p % C]}"; fi
	done
}

mkfifo "$dir/in.fifo"
"$BIN/gen-sflow" --seed 3 --records 3000 --rate 1000 --start 1700000000 --sources 50 > "$dir/data.csv"

# conf NAME VALUE: rules.ini with cpu_affinity = VALUE (none when empty).
conf() {
	local extra=()
	[ -n "$2" ] && extra=("s|^ring_size .*|&\ncpu_affinity = $2|")
	rules_conf "$dir/$1" "type = file\npath = $dir/in.fifo" "type = file\npath = $dir/$1.lp" "${extra[@]}" \
		> "$dir/$1.ini"
}

# pid_of "ROLE INDEX": that child's pid from status (nothing, quietly,
# before the socket is up).
pid_of() { ctl status 2>/dev/null | awk -v r="${1% *}" -v i="${1#* }" '$1 == r && $2 == i && $3 ~ /^[1-9][0-9]*$/ { print $3 }'; }
allowed() { awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$1/status"; }

# all_allowed WANT...: each child's Cpus_allowed_list is WANT[p] (the pin
# happens in the child right after fork: poll, do not assume).
all_allowed() {
	local p pid
	for p in "${!procs[@]}"; do
		pid=$(pid_of "${procs[p]}")
		[ -n "$pid" ] && [ "$(allowed "$pid" 2>/dev/null)" = "${want[p]}" ] || return 1
	done
}

# run NAME VALUE: starts ringflow with cpu_affinity = VALUE, checks every
# child against want[] (Cpus_allowed_list) and pin[] (status: the pinned
# cpu, "-" for none), then feeds the data, closes the FIFO and waits for
# a clean exit.
run() {
	local name=$1 value=$2 p pid row last pinned
	conf "$name" "$value"
	mkdir -p "$dir/$name"
	"$BIN/ringflow" -t -c "$dir/$name.ini" > /dev/null 2> "$dir/$name.t" || { cat "$dir/$name.t" >&2; fail "$name: -t refused it"; }
	rf_start "$dir/$name.log" -c "$dir/$name.ini"
	WAIT_FOR_PID=$rf_pid
	RF_SOCK=$dir/$name/run/it.sock
	exec 3<> "$dir/in.fifo"
	if ! wait_for "$name: every child allowed ${want[*]}" 20 all_allowed; then
		for p in "${!procs[@]}"; do
			pid=$(pid_of "${procs[p]}")
			echo "  ${procs[p]} (pid $pid): Cpus_allowed_list $(allowed "$pid" 2>/dev/null), want ${want[p]}" >&2
		done
		fail "$name: placement differs"
	fi
	[ "$(allowed "$rf_pid")" = "$mine" ] || fail "$name: the supervisor is allowed $(allowed "$rf_pid"), want $mine"
	ctl status > "$dir/$name.status"
	grep -Eq '^process +pid +state +restarts +rate +cpu$' "$dir/$name.status" ||
		{ cat "$dir/$name.status" >&2; fail "$name: status has no cpu column"; }
	for p in "${!procs[@]}"; do
		# The process table only (the ring lines also start "ingest 0").
		row=$(sed -n '/^process/,/^$/p' "$dir/$name.status" |
			awk -v r="${procs[p]% *}" -v i="${procs[p]#* }" '$1 == r && $2 == i')
		last=$(awk '{ split($NF, c, "/"); print c[1] }' <<< "$row")
		pinned=$(awk '{ split($NF, c, "/"); print c[2] }' <<< "$row")
		[ "$pinned" = "${pin[p]}" ] || { cat "$dir/$name.status" >&2; fail "$name: ${procs[p]} shows pinned '$pinned', want '${pin[p]}'"; }
		[[ $last =~ ^[0-9]+$ ]] || { cat "$dir/$name.status" >&2; fail "$name: ${procs[p]} shows last cpu '$last'"; }
		# Pinned, it can only have run there; unpinned, on one of ours.
		if [ "${pin[p]}" != - ]; then
			[ "$last" = "${pin[p]}" ] || fail "$name: ${procs[p]} pinned to ${pin[p]} last ran on $last"
		else
			[[ " ${cpus[*]} " == *" $last "* ]] || fail "$name: ${procs[p]} last ran on $last, not among $mine"
		fi
	done
	cat "$dir/data.csv" >&3
	exec 3>&-
	wait_exit "$rf_pid" 60 || fail "$name: ringflow did not finish the input and exit 0"
	rf_pid=
	grep -q "input ended and the pipeline drained" "$dir/$name.log" || fail "$name: no clean end in the log"
	[ -s "$dir/$name.lp" ] || fail "$name: no output"
	echo "cpu_affinity = ${value:-(default)}: $(grep -o 'cpu placement.*' "$dir/$name.log" || echo 'no placement')"
	sed -n '/^process/,/^$/p' "$dir/$name.status"
}

# A list of one cpu: everything there.
want=(0 0 0 0 0 0); pin=(0 0 0 0 0 0)
run one 0

# auto, the default (the key left out): the formula.
mapfile -t want < <(expected_auto)
pin=("${want[@]}")
run auto ""

# no: nothing pinned, every child allowed what the test is.
want=("$mine" "$mine" "$mine" "$mine" "$mine" "$mine"); pin=(- - - - - -)
run no no

# Refused by -t, exit 78, naming the key.
refused() {
	local name=$1 value=$2 want_msg=$3 rc=0
	conf "$name" "$value"
	"$BIN/ringflow" -t -c "$dir/$name.ini" > "$dir/$name.out" 2> "$dir/$name.err" || rc=$?
	[ $rc -eq 78 ] || { cat "$dir/$name.err" >&2; fail "cpu_affinity = $value: -t exited $rc, want 78"; }
	grep -qF -- "[processes] cpu_affinity: $want_msg" "$dir/$name.err" ||
		{ cat "$dir/$name.err" >&2; fail "cpu_affinity = $value: stderr lacks '[processes] cpu_affinity: $want_msg'"; }
	echo "refused: $(cat "$dir/$name.err")"
}
refused dash "0-" "'0-' is not auto, no or a cpu list such as 0-3,6: a cpu number is missing"
refused words "zero" "'zero' is not auto, no or a cpu list"
refused backwards "1-0" "'1-0' is not auto, no or a cpu list such as 0-3,6: range 1-0 goes backwards"
if [[ " ${cpus[*]} " != *" 99 "* ]]; then
	refused ninetynine 99 "cpu 99 is not online or not allowed to ringflow (allowed: $mine)"
fi
refused huge 1024 "'1024' is not auto, no or a cpu list such as 0-3,6: cpu numbers must be below 1024"
echo "cpu affinity: OK"
