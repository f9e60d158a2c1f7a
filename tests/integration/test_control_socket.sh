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
#      the counters in `stats` add up;
#   5. `status --json` (issue 11) is one JSON object that python3 parses,
#      whose numbers agree with `stats` and `ps` taken right after and with
#      the text `status`; an unknown status argument is named in the error;
#      each garbage or over-long request gets its ERR line and a
#      `status --json` right after it still answers; a client of another
#      uid (nobody, via setpriv) is refused and the refusal is logged;
#      20 concurrent `status --json` all get complete documents;
#   6. it stops cleanly.
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
# One analyzer, so that status --json has an analyzers entry to check.
cat >> "$dir/rf.ini" <<INI

[analyzer.rec]
exec  = $PWD/tests/integration/analyzers/record.py
args  = --log "$dir/rec.log"
input = by_country
INI
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
elif mode == "garbage_then_status":
    # Each bad request, then at once a good one on a new connection: the
    # server must still serve, and serve a complete JSON document.
    import json
    cases = [
        (b"\x00\x01\xfe\xff garbage\n", "ERR malformed request"),
        (b"status --json\x07\n", "ERR malformed request"),
        (b"\xff" * 5000 + b"\n", "ERR request longer than 1024 bytes"),
        (b"status --json " + b"B" * (1 << 20), "ERR request longer than 1024 bytes"),
    ]
    bad = 0
    for req, want in cases:
        s = conn()
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = first_line(read_all(s))
        s.close()
        s = conn()
        s.sendall(b"status --json\n")
        reply = read_all(s)
        s.close()
        head, _, body = reply.partition("\n")
        try:
            doc = json.loads(body)
            good = head == "OK" and body.endswith("\n") and "processes" in doc
        except ValueError as e:
            good = False
            head += f" (JSON: {e})"
        ok = got.startswith(want) and good
        bad += not ok
        print(f"garbage then status --json: {got[:60]!r} then {head!r}" + ("" if ok else f", want {want!r} then OK + JSON"))
    sys.exit(bad)
PY

# status --json against stats, ps and the text status (section 5).
cat > "$dir/json_check.py" <<'PY'
import json, re, sys

def load_json(path):
    text = open(path, encoding="utf-8").read()
    # One object, one line, newline-terminated.
    assert text.endswith("\n") and text.count("\n") == 1, f"{path}: not one newline-terminated line"
    return json.loads(text)

def prom(path):
    """stats as {(name, frozenset(labels)): value}."""
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line.strip())
        assert m, f"bad stats line {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out

mode = sys.argv[1]
if mode == "agree":
    js, st, ps_path, text_path, sup_pid, ckpt_before, conf = sys.argv[2:9]
    j = load_json(js)
    p = prom(st)
    # ps -e -o pid=,ppid=, taken right after the JSON.
    ppid = dict(tuple(map(int, l.split())) for l in open(ps_path) if l.strip())
    kids = {k for k, v in ppid.items() if v == int(sup_pid)}
    def one(name):
        return p[(name, frozenset())]
    errs = []
    def check(cond, what):
        if not cond:
            errs.append(what)
    check(j["name"] == "it", f"name {j['name']!r}")
    check(j["pid"] == int(sup_pid), f"pid {j['pid']} != {sup_pid}")
    check(j["config"] == conf, f"config {j['config']!r} != {conf!r}")
    check(j["state"] == "running", f"state {j['state']!r}")
    check(isinstance(j["uptime_seconds"], (int, float)) and j["uptime_seconds"] > 0, "uptime_seconds")
    check(j["data_plane_restarts"] == one("ringflow_restarts_total"), "data_plane_restarts != ringflow_restarts_total")
    # Processes: the same (role, index) set as every per-process metric,
    # each pid a live child of the supervisor, no restarts (none happened).
    want = {(dict(l)["role"], int(dict(l)["index"])) for (n, l) in p if n == "ringflow_frames_in_total"}
    have = {(x["role"], x["index"]) for x in j["processes"]}
    check(have == want, f"processes {sorted(have)} != stats {sorted(want)}")
    for x in j["processes"]:
        check(x["pid"] in kids, f"{x['role']} {x['index']}: pid {x['pid']} is not a child of {sup_pid} ({sorted(kids)})")
        check(x["state"] == "running", f"{x['role']} {x['index']} state {x['state']!r}")
        check(x["restarts"] == 0, f"{x['role']} {x['index']} restarts {x['restarts']}")
        check(isinstance(x["rate"], (int, float)) and x["rate"] >= 0 and x["rate_unit"].endswith("/s"), "rate")
    # The text status taken after the JSON: the same pids per process.
    text = {}
    for line in open(text_path):
        m = re.match(r'^([a-z_]+) (\d+)\s+(\d+)\s+(\S+)\s+(\d+)', line)
        if m:
            text[(m.group(1), int(m.group(2)))] = (int(m.group(3)), int(m.group(5)))
    check(text == {(x["role"], x["index"]): (x["pid"], x["restarts"]) for x in j["processes"]},
          f"text status {text} disagrees with JSON")
    # Rings: the same pairs as ringflow_ring_used_bytes, used <= capacity.
    want = {(dict(l)["from"], dict(l)["to"]) for (n, l) in p if n == "ringflow_ring_used_bytes"}
    check({(r["from"], r["to"]) for r in j["rings"]} == want, "rings != stats ring pairs")
    for r in j["rings"]:
        check(0 <= r["used"] <= r["capacity"] and r["capacity"] >= 1 << 20, f"ring {r}")
    # Checkpoints: stats came after the JSON, so it may only be ahead.
    c = j["checkpoint"]
    check(c["enabled"] is True, "checkpoint.enabled")
    check(c["id"] >= int(ckpt_before), f"checkpoint id {c['id']} < {ckpt_before} taken before")
    check(c["id"] <= one("ringflow_checkpoint_last_id"), "checkpoint id ahead of stats")
    check(c["completed"] <= one("ringflow_checkpoints_completed_total"), "completed ahead of stats")
    check(c["failed"] == one("ringflow_checkpoints_failed_total"), "failed != stats")
    check(0 <= c["age_seconds"] < 60 and 0 <= c["duration_seconds"] < 10, f"checkpoint times {c}")
    check(abs(c["interval_seconds"] - 0.5) < 1e-9, f"interval {c['interval_seconds']}")
    # Kafka: group ctl, topic sflow with 2 partitions, offsets sane.
    check(j["consumer_group"] == "ctl", "consumer_group")
    parts = sorted((l["topic"], l["partition"]) for l in j["consumer_lag"])
    check(parts == [("sflow", 0), ("sflow", 1)], f"consumer_lag partitions {parts}")
    # A partition the producer happened to leave empty has nothing
    # consumed: all three null; at least one partition was consumed.
    for l in j["consumer_lag"]:
        if l["next_offset"] is None:
            check(l["high_watermark"] is None and l["lag"] is None, f"lag {l}")
        else:
            check(0 <= l["next_offset"] <= l["high_watermark"] and
                  l["lag"] == l["high_watermark"] - l["next_offset"], f"lag {l}")
    check(sum(l["next_offset"] or 0 for l in j["consumer_lag"]) > 0, "no partition consumed")
    check(isinstance(j["problems"], list) and all(isinstance(x, str) for x in j["problems"]), "problems")
    # The analyzer: its pid a child of the analyze process, its counters
    # at most what stats (taken after) says.
    hosts = {x["pid"] for x in j["processes"] if x["role"] == "analyze"}
    check([a["name"] for a in j["analyzers"]] == ["rec"], f"analyzers {j['analyzers']}")
    for a in j["analyzers"]:
        lab = frozenset({("analyzer", a["name"])})
        check(a["state"] == "running" and a["pid"] > 0 and a["host"] == 0, f"analyzer {a}")
        check(ppid.get(a["pid"]) in hosts,
              f"analyzer pid {a['pid']} is not a child of an analyze process {hosts}")
        check(p[("ringflow_analyzer_up", lab)] == 1, "ringflow_analyzer_up")
        for k in ("windows_delivered", "windows_dropped", "lines_rejected", "restarts"):
            check(a[k] <= p[(f"ringflow_analyzer_{k}_total", lab)], f"analyzer {k} ahead of stats")
        check(sorted(a["alerts"]) == ["critical", "info", "ok", "warning"], f"alerts {a['alerts']}")
        for v, n in a["alerts"].items():
            check(n <= p[("ringflow_analyzer_alerts_total", lab | {("severity", v)})], f"alerts {v} ahead of stats")
        check(a["last_error"] is None or isinstance(a["last_error"], str), "last_error")
    for e in errs:
        print("json_check:", e, file=sys.stderr)
    print(f"json_check: {len(j['processes'])} processes, {len(j['rings'])} rings, checkpoint {c['id']}: "
          + ("agree" if not errs else f"{len(errs)} disagreements"))
    sys.exit(1 if errs else 0)
elif mode == "many":
    # Every file a complete document with the same processes.
    sets = []
    for path in sys.argv[2:]:
        j = load_json(path)
        sets.append(sorted((x["role"], x["index"], x["pid"]) for x in j["processes"]))
    assert all(s == sets[0] for s in sets), "concurrent replies disagree on the processes"
    print(f"json_check: {len(sets)} concurrent replies, complete and alike")
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

# --- 5. status --json. ------------------------------------------------------
before=$(ckpt_id)
ctl status --json > "$dir/status.json" || fail "status --json failed"
ctl stats > "$dir/stats.after"
ps -e -o pid=,ppid= > "$dir/ps"
ctl status > "$dir/status.text"
python3 "$dir/json_check.py" agree "$dir/status.json" "$dir/stats.after" "$dir/ps" "$dir/status.text" \
	"$pid" "$before" "$dir/rf.ini" || { cat "$dir/status.json" >&2; fail "status --json disagrees"; }
grep -q '^process .* rate  *cpu$' "$dir/status.text" && grep -q '^last checkpoint: ' "$dir/status.text" ||
	fail "the text status changed shape"
for arg in --bogus "--json extra"; do
	rc=0
	# shellcheck disable=SC2086 # two words on purpose
	ctl status $arg > /dev/null 2> "$dir/status.err" || rc=$?
	bad=${arg##* }
	[ $rc -eq 1 ] && grep -q "unknown argument '$bad'" "$dir/status.err" ||
		fail "status $arg: exit $rc, $(cat "$dir/status.err")"
done
echo "5. status --json agrees with stats, ps and status; unknown arguments are named"

python3 "$dir/client.py" garbage_then_status || fail "a bad request broke the server's next answer"

# Another uid. The socket is 0600 in a 0700 run_dir, so the kernel alone
# would stop nobody at connect(); to reach the server's own SO_PEERCRED
# check, the test (only) opens the directories and the socket to others.
if [ "$(id -u)" -ne 0 ]; then
	echo "5. other uid: SKIPPED (not root, cannot run a client as nobody)"
elif ! command -v setpriv > /dev/null || ! id nobody > /dev/null 2>&1; then
	echo "5. other uid: SKIPPED (no setpriv or no user nobody)"
else
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	install -m 0755 "$BIN/ringflowctl" "$dir/ringflowctl"
	chmod o+x "$dir" "$dir/run"
	rc=0
	as_nobody "$dir/ringflowctl" -s "$RF_SOCK" status > /dev/null 2> "$dir/nobody.err" || rc=$?
	[ $rc -eq 2 ] && grep -qi "permission denied" "$dir/nobody.err" ||
		fail "nobody on a 0600 socket: exit $rc, $(cat "$dir/nobody.err")"
	refused_before=$(conns refused)
	chmod 0666 "$RF_SOCK"
	rc=0
	as_nobody "$dir/ringflowctl" -s "$RF_SOCK" status --json > "$dir/nobody.out" 2> "$dir/nobody.err" || rc=$?
	chmod 0600 "$RF_SOCK"
	chmod o-x "$dir" "$dir/run"
	[ $rc -eq 1 ] && grep -q "permission denied" "$dir/nobody.err" && [ ! -s "$dir/nobody.out" ] ||
		fail "nobody was not refused by the server: exit $rc, $(cat "$dir/nobody.err")"
	[ "$(conns refused)" -eq $((refused_before + 1)) ] || fail "the refusal was not counted"
	nobody_uid=$(id -u nobody)
	grep -q "control socket: refused a connection from uid $nobody_uid (pid [0-9]*)" "$dir/ringflow.log" ||
		fail "the refusal of uid $nobody_uid was not logged"
	ctl status --json > /dev/null || fail "status --json failed after the refusal"
	echo "5. other uid: nobody refused by the kernel at 0600, by SO_PEERCRED at 0666, and logged"
fi

pids=()
for i in $(seq 20); do
	ctl -T 10 status --json > "$dir/many.$i.json" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" -eq 0 ] || fail "$failed of 20 concurrent status --json calls failed"
python3 "$dir/json_check.py" many "$dir"/many.*.json || fail "a concurrent status --json reply was incomplete"
kill -0 "$pid" && [ "$(stat1 restarts_total)" -eq 0 ] || fail "ringflow restarted or exited during section 5"

# --- 6. A clean stop. -------------------------------------------------------
rc=0
rf_stop_group TERM 60 || rc=$?
[ $rc -eq 0 ] && grep -q "stopped cleanly" "$dir/ringflow.log" || fail "ringflow did not stop cleanly (exit $rc)"
echo "control socket: OK"
