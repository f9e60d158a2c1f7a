#!/usr/bin/env bash
# The control socket under misbehaving clients (issue 7, item 6), against a
# running ringflow (Kafka mock -> ringflow -> file, checkpoints every
# 500 ms). The supervisor serves the socket from its loop, so no client may
# stall reaping, checkpoints or restarts:
#   1. a client trickling one byte per second (reconnecting whenever it is
#      cut off) for 6 s: every one of its connections ends with the
#      request-deadline error, `ringflowctl status` from other clients
#      answers every time meanwhile, and checkpoints keep completing (the
#      checkpoint id advances while the trickler is connected);
#   2. 50 `ringflowctl status` at once all answer; 50 idle connections at
#      once: 32 are held until their deadline, 18 are answered "busy" at
#      once, and a `ringflowctl status` meanwhile gets through (it retries
#      busy answers within its deadline);
#   3. garbage bytes, 4 KB without a newline, a 1 MB request and an unknown
#      command each get an ERR line;
#   4. ringflow is still the same process, no restart, still checkpointing,
#      the counters in `stats` add up, and it stops cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/kafka.sh
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-ctl-XXXXXX)
rf_pid= bg_pid=
cleanup() {
	set +e
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
	rf_kill_group
	kafka_stop
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$dir/ringflow.log" ] && tail -n 20 "$dir/ringflow.log" >&2
	exit 1
}

kafka_start "$dir/kafka" sflow:2
rules_conf "$dir" \
	"type = kafka\nbrokers = $KAFKA_BROKERS\ntopic = sflow\ngroup = ctl\nstart = earliest" \
	"type = file\npath = $dir/out.lp" \
	"s|^log_level .*|log_level = info\ncheckpoint_interval = 500ms|" > "$dir/rf.ini"
RF_SOCK=$dir/run/it.sock
export RF_SOCK
conns() { ctl stats | awk -v r="result=\"$1\"" '$1 == "ringflow_control_connections_total{" r "}" { print $2 }'; }

# The misbehaving clients, in Python. Each mode prints one summary line.
cat > "$dir/client.py" <<'PY'
import os, select, socket, sys, time
path = os.environ["RF_SOCK"]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def read_all(s, secs=10):
    """The whole reply: until end of stream (or a reset after data)."""
    s.settimeout(secs)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, socket.timeout):
        pass
    return out.decode(errors="replace")

def first_line(r):
    return r.split("\n", 1)[0]

mode = sys.argv[1]
if mode == "trickle":
    # One byte per second of "status" (never the newline), reconnecting
    # whenever the server cuts the connection, for the given seconds.
    end = time.monotonic() + float(sys.argv[2])
    ends = []
    while time.monotonic() < end:
        s = conn()
        for b in b"status" * 10:
            s.send(bytes([b]))
            r, _, _ = select.select([s], [], [], 1.0)
            if r:
                break
        ends.append(first_line(read_all(s)))
        s.close()
    timeouts = sum(e == "ERR no complete request line within 2000 ms" for e in ends)
    print(f"trickle: {len(ends)} connections, {timeouts} cut at the request deadline: {sorted(set(ends))}")
    sys.exit(0 if ends and timeouts == len(ends) else 1)
elif mode == "idle":
    # n connections at once that send nothing; "ready" on stderr when all
    # are connected, then each one's answer.
    n = int(sys.argv[2])
    socks = [conn() for _ in range(n)]
    print("ready", file=sys.stderr, flush=True)
    answers = [first_line(read_all(s)) for s in socks]
    busy = sum(a.startswith("ERR busy") for a in answers)
    timeout = sum(a == "ERR no complete request line within 2000 ms" for a in answers)
    print(f"idle: {n} connections, {busy} busy, {timeout} timed out: {sorted(set(answers))}")
    print(busy, timeout, file=open(sys.argv[3], "w"))
elif mode == "garbage":
    cases = [
        ("control bytes", b"\x00\x01\xfe\xff garbage\n", "ERR malformed request: byte 0x00 at offset 0"),
        ("4 KB, no newline", b"x" * 4096, "ERR request longer than 1024 bytes"),
        ("1 MB request", b"status " + b"A" * (1 << 20) + b"\n", "ERR request longer than 1024 bytes"),
        ("unknown command", b"frobnicate\n", "ERR unknown command 'frobnicate'"),
    ]
    bad = 0
    for name, req, want in cases:
        s = conn()
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server answered and closed before taking it all
        got = first_line(read_all(s))
        s.close()
        ok = got.startswith(want)
        bad += not ok
        print(f"garbage: {name}: {got!r}" + ("" if ok else f", want {want!r}"))
    sys.exit(bad)
PY

rf_start "$dir/ringflow.log" -c "$dir/rf.ini"
pid=$rf_pid
WAIT_FOR_PID=$rf_pid
wait_for "control socket" 20 bash -c "'$BIN/ringflowctl' -s '$RF_SOCK' help > /dev/null 2>&1"
"$BIN/gen-sflow" --seed 5 --records 5000 --rate 500 --start $(( $(date +%s) / 10 * 10 - 3600 )) |
	"$BIN/kafka-produce" -q -b "$KAFKA_BROKERS" -t sflow -l 4
wait_for "a first checkpoint" 30 ckpt_after 0

# --- 1. A trickling client. -------------------------------------------------
before=$(ckpt_id)
python3 "$dir/client.py" trickle 6 > "$dir/trickle.out" &
bg_pid=$!
ok=0
while kill -0 "$bg_pid" 2>/dev/null; do
	# -T 5: ringflowctl's own deadline; the old server held it for minutes.
	ctl -T 5 status > /dev/null || fail "ringflowctl status failed while a client trickled"
	ok=$((ok + 1))
	sleep 0.2   # pacing of this probe, not a synchronisation
done
wait "$bg_pid" || { cat "$dir/trickle.out" >&2; fail "the trickler was not cut at the request deadline"; }
bg_pid=
cat "$dir/trickle.out"
after=$(ckpt_id)
echo "1. while the trickler was connected: $ok status answers, checkpoint $before -> $after"
[ "$ok" -ge 5 ] || fail "only $ok status answers in 6 s"
[ "$after" -ge $((before + 3)) ] || fail "checkpoints stalled while a client trickled ($before -> $after)"

# --- 2. Many clients at once. -----------------------------------------------
pids=()
for i in $(seq 50); do
	ctl -T 10 status > "$dir/status.$i" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" -eq 0 ] || { cat "$dir"/status.* | grep ringflowctl | sort | uniq -c >&2; fail "$failed of 50 concurrent status calls failed"; }
grep -l "^last checkpoint" "$dir"/status.* | wc -l | grep -qx 50 || fail "a status reply was incomplete"
echo "2. 50 concurrent ringflowctl status: all answered"

python3 "$dir/client.py" idle 50 "$dir/idle.counts" > "$dir/idle.out" 2> "$dir/idle.err" &
bg_pid=$!
wait_for "50 idle connections" 10 grep -q ready "$dir/idle.err"
ctl -T 10 status > /dev/null || fail "status did not get through while 32 idle clients held every slot"
wait "$bg_pid"
bg_pid=
cat "$dir/idle.out"
read -r busy timed_out < "$dir/idle.counts"
[ "$busy" -eq 18 ] && [ "$timed_out" -eq 32 ] ||
	fail "50 idle connections: $busy busy, $timed_out timed out; want 18 and 32"

# --- 3. Garbage. ------------------------------------------------------------
python3 "$dir/client.py" garbage || fail "a bad request did not get its error line"

# --- 4. Still the same ringflow, still working. -----------------------------
kill -0 "$pid" || fail "ringflow exited"
[ "$(stat1 restarts_total)" -eq 0 ] || fail "the data plane restarted"
now=$(ckpt_id)
wait_for "a checkpoint after the abuse" 10 ckpt_after "$now"
echo "4. ringflow pid $pid still running, no restart, checkpoint $(ckpt_id)"
for r in ok busy timeout bad_request too_long; do printf '%s=%s ' "$r" "$(conns "$r")"; done
echo
[ "$(conns busy)" -ge 18 ] && [ "$(conns timeout)" -ge 35 ] && [ "$(conns too_long)" -eq 2 ] &&
	[ "$(conns bad_request)" -eq 1 ] || fail "ringflow_control_connections_total does not add up"
grep -q "control socket: pid [0-9]* sent no complete request line within 2000 ms" "$dir/ringflow.log" ||
	fail "no log line about the cut connections"
rc=0
rf_stop_group TERM 60 || rc=$?
[ $rc -eq 0 ] && grep -q "stopped cleanly" "$dir/ringflow.log" || fail "ringflow did not stop cleanly (exit $rc)"
echo "control socket: OK"
