#!/usr/bin/env bash
# The two example analyzers of docs/ANALYZERS.md (docs/examples/analyzer_spike.{c,py}):
#  - the doc's code blocks are byte-identical to the example files;
#  - the C one compiles on its own against libringflow-analyzer.a (the one
#    beside $BIN, else the release one) with nothing but -lm;
#  - standalone, over a window-protocol input written here (two rules,
#    several series, an escaped tag value, junk lines), both print exactly
#    the alerts and summary points computed by hand below, line by line,
#    the C output parsed back by a parser of this test's own;
#  - over hostile input (cut and corrupted lines, random bytes) both skip
#    what they cannot read and exit 0;
#  - inside ringflow (file in, file out), over generated traffic with one
#    injected spike (SE, one window), each example reports that window and
#    no other, and its summary points cover every by_country window.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-anex-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
ex=$PWD/docs/examples

# --- the doc shows the files as they are ---
python3 - "$PWD" <<'PY'
import sys
root = sys.argv[1]
doc = open(f"{root}/docs/ANALYZERS.md", encoding="utf-8").read().split("\n")
found = {}
for i, line in enumerate(doc):
    if line.startswith("<!-- file: ") and line.endswith(" -->"):
        path = line[len("<!-- file: "):-len(" -->")]
        assert doc[i + 1].startswith("```"), f"no code block after the marker of {path}"
        end = doc.index("```", i + 2)
        found[path] = "\n".join(doc[i + 2:end]) + "\n"
for path in ("docs/examples/analyzer_spike.c", "docs/examples/analyzer_spike.py"):
    assert path in found, f"docs/ANALYZERS.md does not include {path}"
    assert found[path] == open(f"{root}/{path}", encoding="utf-8").read(), \
        f"docs/ANALYZERS.md: the block of {path} differs from the file"
print("doc blocks: identical to the example files")
PY

# --- the C example builds against the library alone ---
lib=$BIN/../libringflow-analyzer.a
[ -f "$lib" ] || lib=$BIN/../release/libringflow-analyzer.a
[ -f "$lib" ] || { echo "no libringflow-analyzer.a beside $BIN (run make all)" >&2; exit 1; }
# A sanitizer build's library needs its runtime at link time. (The symbols
# are read whole first: grep -q would end nm early, a failure under pipefail.)
san=()
syms=$(nm -u "$lib" 2>/dev/null || true)
case $syms in *__asan_*) san=(-fsanitize=address,undefined) ;; *__tsan_*) san=(-fsanitize=thread) ;; esac
cc -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -O2 "${san[@]}" -I"$PWD" \
	"$ex/analyzer_spike.c" "$lib" -lm -o "$dir/analyzer-spike"

# --- standalone, hand-computed ---
# Windows of 10 s from T0; by_country series DE, SE and "a b,c" (escaped),
# defaults --field bytes --factor 5 --min-windows 3:
#  w0..w2  DE 100,120,80   SE 200,180,220.0   X 10,10,10     (history)
#  w3      DE 2000: mean 100, 2000 > 500 -> alert, score 20
#          SE 1000: mean 200, 1000 is not > 1000 -> no alert, enters the mean
#          X 51:    mean 10, 51 > 50 -> alert, score 5.1
#  w4      DE 600:  mean still 100 (the spike stayed out) -> alert, score 6
#          SE 1500: mean (200+180+220+1000)/4 = 400, 1500 < 2000 -> none
#          X 10:    mean 10 -> none
# A by_agent window (its own rule) has one series with no history: no alert.
# A point without bytes is not a series; junk lines are skipped.
T0=1700000000000000000
S=10000000000
{
	w() { echo "# window rule=$1 measurement=$2 start=$3 end=$(($3 + S))"; }
	w by_country rf_by_country $T0
	echo "rf_by_country,src_country=DE bytes=100i,flows=3i $T0"
	echo "rf_by_country,src_country=SE bytes=200i,flows=5i $T0"
	echo "rf_by_country,src_country=a\\ b\\,c bytes=10i $T0"
	echo "rf_by_country,src_country=PL flows=2i $T0"
	echo "# end"
	w by_agent rf_by_agent $T0
	echo "rf_by_agent,agent=10.0.0.1,proto=6 bytes=1000000000i,sources=4i $T0"
	echo "# end"
	t=$((T0 + S)); w by_country rf_by_country $t
	echo "rf_by_country,src_country=DE bytes=120i $t"
	echo "rf_by_country,src_country=SE bytes=180i $t"
	echo "rf_by_country,src_country=a\\ b\\,c bytes=10i $t"
	echo "# end"
	echo "junk outside a block"
	t=$((T0 + 2 * S)); w by_country rf_by_country $t
	echo "rf_by_country,src_country=a\\ b\\,c bytes=10i $t"
	echo "rf_by_country,src_country=SE bytes=220.0 $t"
	echo "rf_by_country,src_country=DE bytes=80i $t"
	echo "# end"
	t=$((T0 + 3 * S)); w by_country rf_by_country $t
	echo "rf_by_country,src_country=DE bytes=2000i $t"
	echo "this is not line protocol"
	echo "rf_by_country,src_country=SE bytes=1000i $t"
	echo "rf_by_country,src_country=a\\ b\\,c bytes=51i $t"
	echo "# end"
	t=$((T0 + 4 * S)); w by_country rf_by_country $t
	echo "rf_by_country,src_country=DE bytes=600i $t"
	echo "rf_by_country,src_country=SE bytes=1500i $t"
	echo "rf_by_country,src_country=a\\ b\\,c bytes=10i $t"
	echo "# end"
} > "$dir/in.txt"
RINGFLOW_ANALYZER=spike "$dir/analyzer-spike" < "$dir/in.txt" > "$dir/c.out" 2> "$dir/c.err"
RINGFLOW_ANALYZER=spike python3 "$ex/analyzer_spike.py" < "$dir/in.txt" > "$dir/py.out" 2> "$dir/py.err"
grep -q 'input lines skipped' "$dir/c.err" || { echo "C example: skipped lines not reported" >&2; cat "$dir/c.err" >&2; exit 1; }

python3 - "$dir" "$T0" "$S" <<'PY'
import sys
d, T0, S = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def split_unescaped(s, seps):
    """Splits s at characters of seps not preceded by a backslash."""
    out, cur, i = [], "", 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in ",= ":
            cur += s[i:i + 2]; i += 2; continue
        if s[i] in seps:
            out.append(cur); cur = ""
        else:
            cur += s[i]
        i += 1
    return out + [cur]

def unesc(s):
    for c in ",= ":
        s = s.replace("\\" + c, c)
    return s

def parse(line):
    # head, fields and time: string fields here hold no ' ', '"' or ','
    # other than message, which is read first.
    head, rest = split_unescaped(line, " ")[0], line[len(split_unescaped(line, " ")[0]) + 1:]
    fields = {}
    if rest.startswith('message="'):
        end = rest.index('"', 9)
        fields["message"] = rest[9:end]
        rest = rest[end + 1:].lstrip(",")
    body, t = rest.rsplit(" ", 1)
    for kv in body.split(","):
        k, v = kv.split("=", 1)
        fields[k] = int(v[:-1]) if v.endswith("i") else float(v)
    parts = split_unescaped(head, ",")
    tags = [tuple(unesc(x) for x in split_unescaped(p, "=")) for p in parts[1:]]
    return parts[0], tags, fields, int(t)

def alert(t, country, value, mean, msg):
    return ("alert", [("rule", "by_country"), ("field", "bytes"), ("severity", "warning"),
                      ("src_country", country)],
            {"message": msg, "value": float(value), "expected": float(mean),
             "upper": 5.0 * mean, "score": value / mean}, t)

def summary(m, rule, t, series, spikes, mean):
    return (m + "_spike_mean", [("rule", rule), ("field", "bytes")],
            {"series": series, "spikes": spikes, "mean": mean}, t)

t = [T0 + k * S for k in range(5)]
want = [
    summary("rf_by_country", "by_country", t[0], 3, 0, 310 / 3),
    summary("rf_by_agent", "by_agent", t[0], 1, 0, 1e9),
    summary("rf_by_country", "by_country", t[1], 3, 0, 310 / 3),
    summary("rf_by_country", "by_country", t[2], 3, 0, 310 / 3),
    alert(t[3], "DE", 2000, 100, "bytes 2000 above 5 x mean 100"),
    alert(t[3], "a b,c", 51, 10, "bytes 51 above 5 x mean 10"),
    summary("rf_by_country", "by_country", t[3], 3, 2, 3051 / 3),
    alert(t[4], "DE", 600, 100, "bytes 600 above 5 x mean 100"),
    summary("rf_by_country", "by_country", t[4], 3, 1, 2110 / 3),
]
for who in ("c", "py"):
    lines = open(f"{d}/{who}.out").read().split("\n")
    assert lines[-1] == "", f"{who}: output does not end with a newline"
    got = [parse(l) for l in lines[:-1]]
    assert len(got) == len(want), f"{who}: {len(got)} lines, expected {len(want)}:\n" + "\n".join(lines)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{who} line {i + 1}:\n got  {g}\n want {w}\n text {lines[i]}"
    # The escaped tag value is written as line protocol wants it.
    assert "src_country=a\\ b\\,c " in lines[5], f"{who}: tag not escaped: {lines[5]}"
print("standalone: both examples print the hand-computed alerts and points")
PY

# --- hostile input: skipped, never fatal ---
# Valid lines cut short or with bytes flipped, random bytes, odd headers;
# both must read it all and exit 0 (under a sanitizer build, cleanly).
python3 - "$dir/in.txt" > "$dir/junk.txt" <<'PY'
import random, sys
rnd = random.Random(7)
good = open(sys.argv[1], "rb").read().split(b"\n")
odd = [b"# window rule=r measurement=m start=5 end=1", b"# window rule=r",
       b"# window start=x end=y rule= measurement=", b"# end", b"m,t=a\\ f=1",
       b'm f="unclosed', b"m,=v f=1 1", b"m f=1 99999999999999999999", b"\xff\xfe", b"m f=1i,f=2i"]
out = []
for _ in range(3000):
    k = rnd.random()
    if k < 0.4:
        out.append(rnd.choice(good))
    elif k < 0.6:
        line = bytearray(rnd.choice(good))
        for _ in range(rnd.randint(1, 3)):
            if line:
                line[rnd.randrange(len(line))] = rnd.randrange(256)
        out.append(bytes(line))
    elif k < 0.8:
        out.append(rnd.choice(good)[:rnd.randint(0, 40)])
    elif k < 0.9:
        out.append(bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 60))))
    else:
        out.append(rnd.choice(odd))
sys.stdout.buffer.write(b"\n".join(out))
PY
"$dir/analyzer-spike" < "$dir/junk.txt" > /dev/null 2> "$dir/junk-c.err" ||
	{ echo "C example failed on hostile input" >&2; tail "$dir/junk-c.err" >&2; exit 1; }
python3 "$ex/analyzer_spike.py" < "$dir/junk.txt" > /dev/null 2> "$dir/junk-py.err" ||
	{ echo "Python example failed on hostile input" >&2; tail "$dir/junk-py.err" >&2; exit 1; }
echo "hostile input: both examples skipped what they could not read"

# --- inside ringflow: one injected spike ---
# 140 s of traffic from T=1700000000 (14 windows of 10 s); five flows from
# 89.160.20.114 (SE in the test database) with sampling rate 1e8 go in among
# the records of second 85, so window [80 s, 90 s) of SE gets 7.5e11 more
# bytes. The lines are put in place (not appended), so they are not late.
"$BIN/gen-sflow" --seed 5 --records 28000 --rate 200 --start 1700000000 --sources 300 \
	--counters 0 > "$dir/base.csv"
spike='1700000085,FLOW,10.0.0.1,43,20,b8ca3a745f41,3c8ab0584308,0x0800,0,0,89.160.20.114,1.0.0.94,6,0x00,64,40000,443,0x18,1500,1482,100000000'
awk -F, -v s="$spike" '!done && $1 >= 1700000085 { for (i = 0; i < 5; i++) print s; done = 1 } { print }' \
	"$dir/base.csv" > "$dir/data.csv"
[ "$(grep -c ',100000000$' "$dir/data.csv")" -eq 5 ] || { echo "spike not injected" >&2; exit 1; }

rules_conf "$dir" "type = file\npath = $dir/data.csv" "type = file\npath = $dir/out.lp" > "$dir/rf.ini"
cat >> "$dir/rf.ini" <<-INI

[analyzer.spike_py]
exec  = $ex/analyzer_spike.py
input = by_country

[analyzer.spike_c]
exec  = $dir/analyzer-spike
args  = --field bytes --factor 5
input = by_country

[alerts]
log = yes
INI
"$BIN/ringflow" -t -c "$dir/rf.ini"
"$BIN/ringflow" -c "$dir/rf.ini" 2> "$dir/rf.log" || { tail -n 40 "$dir/rf.log"; echo "ringflow failed" >&2; exit 1; }

python3 - "$dir" <<'PY'
import collections, sys
d = sys.argv[1]
lines = open(f"{d}/out.lp").read().splitlines()
spike = 1700000080 * 10**9
windows = sorted({int(l.rsplit(" ", 1)[1]) for l in lines if l.startswith("rf_by_country,")})
assert spike in windows, "the spike's window was not written"
for name in ("spike_py", "spike_c"):
    alerts = [l for l in lines if l.startswith(f"ringflow_alerts,analyzer={name},")]
    got = [(l.split("src_country=", 1)[1].split(",")[0].split(" ")[0], int(l.rsplit(" ", 1)[1]))
           for l in alerts]
    assert got == [("SE", spike)], f"{name}: expected one alert, SE at {spike}; got {got}\n" + "\n".join(alerts)
# Both print one summary point per window, stored as it is.
sums = collections.Counter(int(l.rsplit(" ", 1)[1]) for l in lines if l.startswith("rf_by_country_spike_mean,"))
assert sorted(sums) == windows and set(sums.values()) == {2}, \
    f"summary points: {sum(sums.values())} for {len(windows)} windows, expected 2 each"
print(f"ringflow: each example alerted once, SE at the spike's window, over {len(windows)} windows")
PY
grep -q 'alerts: alert warning analyzer=spike_c rule=by_country' "$dir/rf.log" ||
	{ echo "no spike_c alert in the log" >&2; grep 'alert' "$dir/rf.log" | head >&2; exit 1; }
# Each ran once, to the end of its input, and its stderr reached the log.
for a in spike_py spike_c; do
	[ "$(grep -c "analyzer $a: started" "$dir/rf.log")" -eq 1 ] || { echo "$a: started more than once" >&2; exit 1; }
	grep -q "analyzer $a: finished" "$dir/rf.log" || { echo "$a: did not finish" >&2; grep "analyzer $a" "$dir/rf.log" >&2; exit 1; }
	grep -q "analyzer $a: analyzer-spike.*: done: .*14 series" "$dir/rf.log" || { echo "$a: no summary on stderr" >&2; exit 1; }
done
echo "analyzer examples: OK"
