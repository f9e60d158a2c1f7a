#!/usr/bin/env bash
# The shipped example configurations pass `ringflow -t` once the files they
# name exist: conf/sflow.ini (DESIGN.md section 3's example, less the
# deviations listed below) and conf/demo.ini (scripts/demo.sh's template).
# Each is copied to a temp dir and only its GeoIP paths, state_dir/run_dir
# (and demo.ini's @PLACEHOLDER@s) are rewritten; -t must exit 0 without
# contacting any server (checked with strace when ptrace is allowed).
# sflow.ini's [analyzer.*] and [alerts] compile without a warning (the
# built-in deviation is found beside ringflow), and sflow.ini as shipped
# (brokers pointed at a plaintext mock Kafka, output to a file) gets its
# partitions assigned and starts its analyzer: no TLS is switched on. Also: a broken file makes -t exit 78 (EX_CONFIG) with
# "[section] key: problem" on stderr, and -V prints versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
export BIN
source tests/lib/kafka.sh
source tests/integration/lib.sh
MMDB=$PWD/data/mmdb
dir=$(mktemp -d /tmp/rf-conf-XXXXXX)
rf_pid=
cleanup() {
	set +e
	[ -n "$rf_pid" ] && kill -9 "$rf_pid" 2>/dev/null
	kafka_stop
	rm -rf "$dir"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

for f in GeoIP2-Country-Test.mmdb GeoIP2-City-Test.mmdb GeoLite2-ASN-Test.mmdb; do
	[ -r "$MMDB/$f" ] || fail "missing test database $MMDB/$f"
done
[ -x "$BIN/ringflow" ] || fail "no ringflow binary in $BIN (make build/bin/ringflow)"

# strace works only where ptrace is allowed; without it the network check is skipped.
tracer=()
if strace -f -qq -e trace=connect -o /dev/null true 2>/dev/null; then
	# LeakSanitizer cannot run under ptrace: off for the traced run only.
	tracer=(env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=connect,sendto,sendmsg -o "$dir/trace")
else
	echo "note: strace unavailable, not checking that -t stays offline"
fi

# check_ok FILE: ringflow -t accepts FILE, says so, and opens no inet socket.
check_ok() {
	local f=$1 rc=0
	"${tracer[@]}" "$BIN/ringflow" -t -c "$f" > "$dir/out" 2> "$dir/err" || rc=$?
	if [ $rc -ne 0 ]; then
		cat "$dir/out" "$dir/err" >&2
		fail "ringflow -t -c $f exited $rc"
	fi
	grep -q "configuration $f is ok" "$dir/out" || { cat "$dir/out" >&2; fail "no ok line for $f"; }
	if [ ${#tracer[@]} -gt 0 ] && grep -E 'AF_INET6?' "$dir/trace" >&2; then
		fail "ringflow -t -c $f tried to reach the network"
	fi
	echo "ok: $(cat "$dir/out")"
}

# rewritten ORIG COPY N: COPY differs from ORIG in exactly N lines.
rewritten() {
	local n
	n=$(diff "$1" "$2" | grep -c '^>' || true)
	[ "$n" -eq "$3" ] || { diff "$1" "$2" >&2 || true; fail "$2: expected $3 rewritten lines, got $n"; }
}

# --- conf/sflow.ini: the DESIGN.md section 3 example. -----------------------
# Same sections, keys and values (comments aside), but for keys this version
# deliberately leaves out: kafka.security.protocol (a comment, so the file
# works against a plaintext local broker as shipped).
design=${RF_DESIGN_MD:-/work/shared/DESIGN.md}
ini_values() { sed -e 's/[[:space:]]*;.*$//' -e 's/[[:space:]]*$//' -e '/^$/d'; }
if [ -r "$design" ]; then
	diff <(awk '/^## 3\./ { s = 1 } s && /^```ini/ { f = 1; next } f && /^```/ { exit } f' "$design" |
		ini_values | grep -Ev '^kafka\.security\.protocol[[:space:]]*=') \
	     <(sed -n '/^\[ringflow\]/,$p' conf/sflow.ini | ini_values) >&2 ||
		fail "conf/sflow.ini differs from DESIGN.md section 3's example beyond the listed deviations"
fi
if grep -Eq '^[[:space:]]*kafka\.security\.protocol' conf/sflow.ini; then
	fail "conf/sflow.ini switches on kafka.security.protocol: as shipped it must work with a plaintext broker"
fi
grep -q '^;kafka\.security\.protocol = ssl' conf/sflow.ini ||
	fail "conf/sflow.ini lost the commented kafka.security.protocol = ssl example"
for what in GeoLite2 'license key' geoipupdate /var/lib/GeoIP /usr/share/GeoIP; do
	grep '^;' conf/sflow.ini | grep -q "$what" || fail "conf/sflow.ini does not say where GeoLite2 files come from ($what)"
done
mkdir -p "$dir/sflow"
sed -e "s|^\(state_dir *= *\)/var/lib/ringflow|\1$dir/sflow/state|" \
    -e "s|^\(run_dir *= *\)/run/ringflow|\1$dir/sflow/run|" \
    -e "s|/usr/share/GeoIP/GeoLite2-Country\.mmdb|$MMDB/GeoIP2-Country-Test.mmdb|" \
    -e "s|/usr/share/GeoIP/GeoLite2-City\.mmdb|$MMDB/GeoIP2-City-Test.mmdb|" \
    -e "s|/usr/share/GeoIP/GeoLite2-ASN\.mmdb|$MMDB/GeoLite2-ASN-Test.mmdb|" \
    conf/sflow.ini > "$dir/sflow.ini"
rewritten conf/sflow.ini "$dir/sflow.ini" 5
check_ok "$dir/sflow.ini"
grep -q "(1 rules, 5 output fields)" "$dir/out" || fail "sflow.ini: unexpected summary: $(cat "$dir/out")"
# [analyzer.spikes] and [alerts] compile: no warning.
[ ! -s "$dir/err" ] || { cat "$dir/err" >&2; fail "sflow.ini: -t warned"; }

# --- conf/demo.ini: scripts/demo.sh's template. ------------------------------
mkdir -p "$dir/demo"
sed -e "s|@STATE_DIR@|$dir/demo/state|; s|@RUN_DIR@|$dir/demo/run|; s|@BROKERS@|127.0.0.1:9092|" \
    -e "s|@MMDB_DIR@|$MMDB|; s|@INFLUX_URL@|http://127.0.0.1:8086|" conf/demo.ini > "$dir/demo.ini"
rewritten conf/demo.ini "$dir/demo.ini" 8
if grep -n '@[A-Z_]*@' "$dir/demo.ini" >&2; then
	fail "demo.ini: placeholder left after rewriting"
fi
check_ok "$dir/demo.ini"
grep -q "(5 rules, 8 output fields)" "$dir/out" || fail "demo.ini: unexpected summary: $(cat "$dir/out")"
[ ! -s "$dir/err" ] || { cat "$dir/err" >&2; fail "demo.ini: -t warned"; }

# --- conf/sflow.ini as shipped against a plaintext broker. -------------------
# Only the broker address (a mock cluster on a free port) and the output (a
# file: no InfluxDB here) change. With TLS switched on the client would never
# get through the handshake, so an assignment proves the shipped file works.
kafka_start "$dir/kafka" sflow:2
sed -e "s|^\(brokers *= *\)127\.0\.0\.1:9092|\1$KAFKA_BROKERS|" \
    -e "s|^\(kafka.brokers *= *\)127\.0\.0\.1:9092|\1$KAFKA_BROKERS|" \
    -e "s|^\(type *= *\)influxdb .*|\1file\npath = $dir/sflow-live.lp|" \
    -e "s|^webhook .*||" \
    "$dir/sflow.ini" > "$dir/sflow-live.ini"
rewritten "$dir/sflow.ini" "$dir/sflow-live.ini" 5
"$BIN/ringflow" -c "$dir/sflow-live.ini" 2> "$dir/sflow-live.log" &
rf_pid=$!
WAIT_FOR_PID=$rf_pid
RF_SOCK=$dir/sflow/run/ringflow.sock
assigned() { "$BIN/ringflowctl" -s "$RF_SOCK" status 2>/dev/null | grep -q 'sflow\[1\]'; }
wait_for "control socket" 20 test -S "$RF_SOCK" || { cat "$dir/sflow-live.log" >&2; fail "sflow.ini did not start"; }
wait_for "partitions of the plaintext broker assigned" 30 assigned ||
	{ "$BIN/ringflowctl" -s "$RF_SOCK" status >&2; tail -20 "$dir/sflow-live.log" >&2; fail "sflow.ini as shipped got no partitions"; }
started() { grep -qF "analyzer spikes: started $BIN/ringflow-deviation" "$dir/sflow-live.log"; }
wait_for "the analyzer started" 20 started || { cat "$dir/sflow-live.log" >&2; fail "sflow.ini's analyzer did not start"; }
kill -TERM "$rf_pid"
rc=0
wait_exit "$rf_pid" 30 || rc=$?
rf_pid= WAIT_FOR_PID=
[ $rc -eq 0 ] || { tail -20 "$dir/sflow-live.log" >&2; fail "sflow.ini run: exit $rc after SIGTERM"; }
kafka_stop
echo "ok: conf/sflow.ini as shipped consumed from a plaintext broker, stopped cleanly"

# --- broken files: exit 78, message names the section and key. ---------------
# expect_refused NAME SED-EXPR WANT: apply SED-EXPR to the good sflow copy.
expect_refused() {
	local name=$1 expr=$2 want=$3 rc=0
	sed -e "$expr" "$dir/sflow.ini" > "$dir/$name.ini"
	cmp -s "$dir/sflow.ini" "$dir/$name.ini" && fail "$name: the sed expression changed nothing"
	"$BIN/ringflow" -t -c "$dir/$name.ini" > "$dir/out" 2> "$dir/err" || rc=$?
	[ $rc -eq 78 ] || { cat "$dir/out" "$dir/err" >&2; fail "$name: ringflow -t exited $rc, want 78"; }
	grep -qF -- "$want" "$dir/err" || { cat "$dir/err" >&2; fail "$name: stderr lacks '$want'"; }
	[ ! -s "$dir/out" ] || { cat "$dir/out" >&2; fail "$name: something on stdout"; }
	echo "refused ($name): $(cat "$dir/err")"
}
expect_refused bad-window 's|^window      = 10s|window      = 10 parsecs|' \
	"[aggregate.by_country] window: '10 parsecs' is not a duration"
expect_refused unknown-key 's|^group       = ringflow|groupe      = ringflow|' \
	"[input] groupe: unknown key"
expect_refused bad-expr 's|^bytes       = packet_size \* sampling_rate|bytes       = packet_size * sampling_rat|' \
	"[transform] bytes: unknown field 'sampling_rat'"
expect_refused bad-kafka 's|^;kafka.security.protocol = ssl|kafka.security.protocol = carrier-pigeon|' \
	"[input] kafka.security.protocol: "
expect_refused missing-geoip "s|GeoIP2-City-Test.mmdb|GeoIP2-Nowhere.mmdb|" \
	"[geoip] city: cannot open '$MMDB/GeoIP2-Nowhere.mmdb'"
# A state_dir that can never be created (its parent is a file) is a -t error too.
expect_refused bad-state-dir "s|^\(state_dir *= *\).*|\1/dev/null/state|" \
	"[ringflow] state_dir: '/dev/null' is not writable"

rc=0
"$BIN/ringflow" -t -c "$dir/does-not-exist.ini" 2> "$dir/err" || rc=$?
[ $rc -eq 78 ] || fail "missing config file: exit $rc, want 78"
grep -q "cannot read" "$dir/err" || { cat "$dir/err" >&2; fail "missing config file: no 'cannot read'"; }

# --- versions. ---------------------------------------------------------------
"$BIN/ringflow" -V > "$dir/v"
for lib in ringflow librdkafka liblmdb libcurl libmaxminddb zlib; do
	grep -Eq "^$lib (LMDB )?[0-9]+\.[0-9]+" "$dir/v" || { cat "$dir/v" >&2; fail "-V: no version line for $lib"; }
done
sed 's/^/version: /' "$dir/v"
echo "PASS: conf examples"
