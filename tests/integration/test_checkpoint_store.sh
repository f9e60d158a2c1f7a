#!/usr/bin/env bash
# The checkpoint store under damage (issue 3):
#   - a store whose header is garbage, and one cut short, make ringflow
#     refuse to start with exit 65 and a message naming the file and
#     --reset-state (never a crash, never silent wrong numbers);
#   - --reset-state discards it and ringflow runs and checkpoints again;
#   - a full disk in state_dir (a small tmpfs) fails checkpoints with a
#     counted, logged reason while the pipeline keeps reading; once there is
#     room again checkpoints complete again.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-store-XXXXXX)
rf_pid= prod_pid= mounted=
cleanup() {
	set +e   # a failing kill must not cut the cleanup short
	[ -n "$prod_pid" ] && { pkill -P "$prod_pid" 2>/dev/null; kill "$prod_pid" 2>/dev/null; wait "$prod_pid" 2>/dev/null; }
	rf_kill_group
	[ -n "$mounted" ] && umount "$dir/small" 2>/dev/null
	kafka_stop || true
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

kafka_start "$dir/kafka" sflow:2
"$BIN/gen-sflow" --seed 3 --records 60000 --rate 1000 --start $(( $(date +%s) / 10 * 10 - 3600 )) \
	--sources 5000 > "$dir/data.csv"

# make_conf STATE_DIR: the integration rules, file output, 500 ms checkpoints.
make_conf() {
	rules_conf "$dir" \
		"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = store\nstart = earliest\nkafka.session.timeout.ms = 6000" \
		"type = file\npath = $dir/out.lp" \
		"s|^state_dir .*|state_dir = $1|" \
		"s|^log_level .*|log_level = info\ncheckpoint_interval = 500ms|" > "$dir/rf.ini"
}
RF_SOCK=$dir/run/it.sock
ckpt_after() { local id; id=$(stat1 checkpoint_last_id) && [ -n "$id" ] && [ "$id" -gt "$1" ]; }
start_ringflow() {
	rf_start "$dir/ringflow.log" -c "$dir/rf.ini" "$@"
	wait_for "control socket" 20 ctl help > /dev/null
}
# As systemd stops a service: SIGTERM to the whole process group.
stop_ringflow() {
	rf_stop_group TERM 60
}
# expect_refusal WHAT: ringflow must exit 65 (not a signal) naming the file
# and --reset-state.
expect_refusal() {
	local rc=0
	timeout 20 "$BIN/ringflow" -c "$dir/rf.ini" 2> "$dir/refused.log" || rc=$?
	if [ "$rc" -ne 65 ] || ! grep -q "$dir/state/it.mdb" "$dir/refused.log" ||
	   ! grep -q -- "--reset-state" "$dir/refused.log"; then
		echo "$1: expected exit 65 naming the store and --reset-state, got $rc:" >&2
		cat "$dir/refused.log" >&2
		exit 1
	fi
	echo "$1: refused with exit 65: $(grep -m1 'checkpoint store' "$dir/refused.log")"
}

# A healthy store with a few checkpoints.
make_conf "$dir/state"
start_ringflow
"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 4 < "$dir/data.csv"
wait_for "checkpoints" 60 ckpt_after 2
stop_ringflow
cp "$dir/state/it.mdb" "$dir/good.mdb"

# 1. Garbage over both meta pages.
dd if=/dev/urandom of="$dir/state/it.mdb" bs=4096 count=2 conv=notrunc status=none
expect_refusal "garbage header"
# 2. Cut short.
cp "$dir/good.mdb" "$dir/state/it.mdb"
truncate -s $(( $(stat -c %s "$dir/good.mdb") / 3 )) "$dir/state/it.mdb"
expect_refusal "truncated store"
# 3. --reset-state starts fresh and checkpoints.
start_ringflow --reset-state
grep -q "reset-state: removed the checkpoint store" "$dir/ringflow.log"
wait_for "a checkpoint after --reset-state" 60 ckpt_after 0
stop_ringflow
echo "--reset-state: started fresh and checkpointed"

# 4. Full disk in state_dir.
mkdir -p "$dir/small"
if ! mount -t tmpfs -o size=3m tmpfs "$dir/small" 2>/dev/null; then
	echo "SKIPPED: full-disk case (mounting a tmpfs needs CAP_SYS_ADMIN)"
	exit 0
fi
mounted=1
make_conf "$dir/small/state"
: > "$dir/ringflow.log"
start_ringflow
( "$BIN/gen-sflow" --seed 4 --records 0 --rate 500 --start $(( $(date +%s) / 10 * 10 - 3600 )) \
	--sources 20000 | "$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 4 -r 2000 ) &
prod_pid=$!
wait_for "checkpoints on the small disk" 60 ckpt_after 1
dd if=/dev/zero of="$dir/small/filler" bs=64k status=none 2>/dev/null || true
# LMDB reuses free pages inside its file, so checkpoints fail once one
# needs the file to grow.
failed() { [ "$(stat1 checkpoints_failed_total)" -gt 0 ]; }
wait_for "a checkpoint to fail on the full disk" 90 failed
grep -q "could not store its part\|could not be completed" "$dir/ringflow.log"
grep -m1 "cannot store\|could not be completed" "$dir/ringflow.log" | sed 's/^/  log: /'
lines=$(stat_sum lines_in_total)
reads_on() { [ "$(stat_sum lines_in_total)" -gt "$lines" ]; }
wait_for "the pipeline to keep reading" 30 reads_on
echo "full disk: $(stat1 checkpoints_failed_total) checkpoints failed, still reading"
# The last good checkpoint is intact: kill everything, make room, and
# ringflow resumes from it.
last=$(stat1 checkpoint_last_id)
kill -9 "$rf_pid"
wait "$rf_pid" 2>/dev/null || true
rf_pid=
rm -f "$dir/small/filler"
start_ringflow
resumed=$(sed -n 's/.*resuming from checkpoint \([0-9]*\).*/\1/p' "$dir/ringflow.log" | tail -1)
[ -n "$resumed" ] && [ "$resumed" -ge "$last" ] ||
	{ echo "expected to resume from checkpoint >= $last, log says '${resumed}'" >&2; exit 1; }
wait_for "checkpoints once there is room" 60 ckpt_after "$resumed"
echo "room again: resumed from checkpoint $resumed (last good before the kill: $last), checkpoint $(stat1 checkpoint_last_id) completed"
pkill -P "$prod_pid" 2>/dev/null; wait "$prod_pid" 2>/dev/null || true; prod_pid=
stop_ringflow
echo "checkpoint store faults: OK"
