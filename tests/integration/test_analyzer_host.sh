#!/usr/bin/env bash
# The analyzer host with finite input (DESIGN.md §5), 2 transforms and 2
# aggregates, real processes:
#  - every closed window of an analyzer's input rules reaches it once,
#    whole (its point count equals the points ringflow wrote for that
#    window, which reference.py checks independently), in start order;
#  - a slow analyzer with a queue of 2 still gets every window (finite
#    input waits for it), and the same file gives the same analyzer output;
#  - analyzer points without a timestamp get one; alerts go to the log and
#    to the ringflow_alerts measurement;
#  - an analyzer that exits at once, one that never reads and one that
#    writes junk are handled (restarted, killed, lines rejected and counted
#    in the log) while ringflow still exits 0 and the data plane's numbers
#    equal reference.py's exactly.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/build/bin}
source tests/integration/lib.sh
dir=$(mktemp -d /tmp/rf-an-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
an=$PWD/tests/integration/analyzers

"$BIN/gen-sflow" --seed 11 --records 80000 --rate 2000 --start 1700000000 \
	--disorder 8 --junk 0.02 --counters 5 --sources 500 > "$dir/data.csv"

run() {  # run NAME: one ringflow run into $dir/NAME.*
	local n=$1
	rm -f "$dir"/rec-"$n"-*.log
	rules_conf "$dir" "type = file\npath = $dir/data.csv" "type = file\npath = $dir/$n.lp" > "$dir/$n.ini"
	cat >> "$dir/$n.ini" <<-INI

	[analyzer.rec]
	exec  = $an/record.py
	args  = --log "$dir/rec-$n-rec.log"
	input = by_country, total

	[analyzer.slow]
	exec  = $an/record.py
	args  = --log "$dir/rec-$n-slow.log" --sleep 0.02
	input = by_agent
	queue = 2

	[analyzer.quit]
	exec = $an/quit.sh

	[analyzer.hang]
	exec    = $an/hang.sh
	timeout = 1s

	[analyzer.garbage]
	exec  = $an/garbage.py
	input = total

	[alerts]
	log = yes
	INI
	"$BIN/ringflow" -t -c "$dir/$n.ini"
	"$BIN/ringflow" -c "$dir/$n.ini" 2> "$dir/$n.log" || { tail -n 40 "$dir/$n.log"; echo "ringflow failed" >&2; exit 1; }
}
run a

# The data plane is untouched by the analyzers.
grep '^rf_' "$dir/a.lp" > "$dir/a.rf.lp"
python3 tests/integration/reference.py --data "$dir/data.csv" \
	--geo "$PWD/data/mmdb/GeoIP2-Country-Test.json" --lp "$dir/a.rf.lp"

# Windows ringflow wrote, per rule: "rule start npoints", from the output.
python3 - "$dir" <<'PY'
import collections, sys
d = sys.argv[1]
meas = {"rf_by_country": "by_country", "rf_total": "total", "rf_by_agent": "by_agent"}
written = collections.Counter()
for line in open(f"{d}/a.rf.lp"):
    m = line.split(",", 1)[0].split(" ", 1)[0]
    if m in meas:
        written[(meas[m], int(line.rsplit(" ", 1)[1]))] += 1
def check(log, rules):
    got = [l.split() for l in open(log)]
    seen = collections.Counter((r, int(s)) for r, s, e, n in got)
    dup = [k for k, c in seen.items() if c > 1]
    assert not dup, f"{log}: windows received twice: {dup[:5]}"
    for r in rules:
        starts = [int(s) for rr, s, e, n in got if rr == r]
        assert starts == sorted(starts), f"{log}: rule {r} out of start order"
    want = {k: v for k, v in written.items() if k[0] in rules}
    have = {(r, int(s)): int(n) for r, s, e, n in got}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    assert not missing and not extra, f"{log}: missing {missing[:5]} extra {extra[:5]}"
    bad = [(k, want[k], have[k]) for k in want if want[k] != have[k]]
    assert not bad, f"{log}: blocks not whole (window, written, received): {bad[:5]}"
    return len(got)
n1 = check(f"{d}/rec-a-rec.log", {"by_country", "total"})
n2 = check(f"{d}/rec-a-slow.log", {"by_agent"})
print(f"analyzer windows: rec {n1}, slow {n2}: each once, whole, in order")
PY

# Points without a timestamp got one; every block gave one alert, stored.
nrec=$(wc -l < "$dir/rec-a-rec.log")
[ "$(grep -c '^an_rec,rule=[a-z_]* points=[0-9]*i [0-9]\{19\}$' "$dir/a.lp")" -eq "$nrec" ] ||
	{ echo "an_rec points: expected $nrec with timestamps" >&2; grep '^an_rec' "$dir/a.lp" | head -3 >&2; exit 1; }
[ "$(grep -c '^ringflow_alerts,analyzer=rec,' "$dir/a.lp")" -eq "$nrec" ] ||
	{ echo "ringflow_alerts: expected $nrec alerts of rec" >&2; exit 1; }
# An alert keeps the timestamp the analyzer gave: the window start.
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
starts = sorted(int(l.split()[1]) for l in open(f"{d}/rec-a-rec.log"))
times = sorted(int(l.rsplit(" ", 1)[1]) for l in open(f"{d}/a.lp") if l.startswith("ringflow_alerts,analyzer=rec,"))
assert starts == times, "alert timestamps are not the window starts"
PY
grep -q 'alerts: alert warning analyzer=rec rule=' "$dir/a.log" || { echo "no alert in the log" >&2; exit 1; }

# The junk writer: every bad line rejected with its name, the good one kept.
for why in binary too_long bad_field_key bad_field_value 'bad alert'; do
	grep -q "analyzer garbage: output line rejected ($why" "$dir/a.log" ||
		{ echo "garbage: no rejection logged for: $why" >&2; grep 'analyzer garbage' "$dir/a.log" | head >&2; exit 1; }
done
[ "$(grep -c '^an_garbage_ok v=1i [0-9]' "$dir/a.lp")" -eq 1 ] || { echo "garbage: its good point is missing" >&2; exit 1; }
# The quitter was restarted and finally given up; the hanger was killed.
[ "$(grep -c 'analyzer quit: exited with status 3' "$dir/a.log")" -ge 2 ] || { echo "quit: not restarted" >&2; exit 1; }
grep -q 'analyzer quit: quitting' "$dir/a.log" || { echo "quit: its stderr was not logged" >&2; exit 1; }
# (Its pipe holds all this input, so it is the end's timeout that kills it.)
grep -Eq 'analyzer hang: (took no input for 1000 ms: killed \(timeout\)|did not exit within 1000 ms of the end of its input: killed)' \
	"$dir/a.log" || { echo "hang: not killed" >&2; exit 1; }
grep -q 'input ended and the pipeline drained' "$dir/a.log"

# Same file, same analyzer output (a replay does not depend on speed).
run b
for x in rec slow; do
	cmp "$dir/rec-a-$x.log" "$dir/rec-b-$x.log" || { echo "analyzer $x saw different windows in run b" >&2; exit 1; }
done
# Alerts carry their window's start: equal. Points stamped by the host get
# the newest window written to the analyzer when the host read them, which
# depends on timing (docs/ANALYZERS.md): compared without their time.
diff <(grep -E '^ringflow_alerts,analyzer=(rec|slow),' "$dir/a.lp" | sort) \
     <(grep -E '^ringflow_alerts,analyzer=(rec|slow),' "$dir/b.lp" | sort) > /dev/null ||
	{ echo "alerts differ between two runs of the same file" >&2; exit 1; }
diff <(grep -E '^an_' "$dir/a.lp" | sed 's/ [0-9]*$//' | sort) \
     <(grep -E '^an_' "$dir/b.lp" | sed 's/ [0-9]*$//' | sort) > /dev/null ||
	{ echo "analyzer points differ between two runs of the same file" >&2; exit 1; }
echo "analyzer host: OK"
