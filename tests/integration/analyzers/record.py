#!/usr/bin/env python3
# Test analyzer: appends "rule start end npoints" for every window block it
# reads to the file named by --log, checks the protocol as it goes (a
# header, points, "# end"; nothing outside a block), and prints for every
# block one point without a timestamp (the host stamps it) and one warning
# alert carrying the window start. --sleep S slows it down per block.
import argparse, os, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--log", required=True)
ap.add_argument("--sleep", type=float, default=0)
args = ap.parse_args()
name = os.environ["RINGFLOW_ANALYZER"]
out = open(args.log, "a", buffering=1)
block = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("# window "):
        if block is not None:
            sys.exit(f"{name}: header inside a block: {line}")
        kv = dict(w.split("=", 1) for w in line.split()[2:])
        block = [kv["rule"], kv["measurement"], int(kv["start"]), int(kv["end"]), 0]
    elif line == "# end":
        if block is None:
            sys.exit(f"{name}: '# end' outside a block")
        rule, m, start, end, n = block
        out.write(f"{rule} {start} {end} {n}\n")
        print(f"an_{name},rule={rule} points={n}i")
        print(f'alert,rule={rule},field=points,severity=warning,who={name} message="{n} points",value={n} {start}')
        sys.stdout.flush()
        if args.sleep:
            time.sleep(args.sleep)
        block = None
    else:
        if block is None:
            sys.exit(f"{name}: a point outside a block: {line}")
        if not line.startswith(block[1] + ",") and not line.startswith(block[1] + " "):
            sys.exit(f"{name}: point of another measurement in {block[0]}: {line}")
        block[4] += 1
if block is not None:
    sys.exit(f"{name}: input ended inside a block")
print(f"{name}: done", file=sys.stderr)
