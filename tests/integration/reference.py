#!/usr/bin/env python3
"""Independent reference for ringflow's integration tests.

Recomputes, from the raw CSV, what ringflow must store for the rules of
tests/integration/rules.ini -- written again here in plain Python, sharing
no code with ringflow: CSV validation, the filter, the expressions, GeoIP
(longest-prefix match over MaxMind's JSON *source* data, not the .mmdb),
windows and every aggregate. Then compares with the points ringflow wrote,
read from InfluxDB (--influx URL --db NAME) or a line-protocol file (--lp).

Exact comparison for integer fields, 1e-9 relative for float sums/means,
the documented error bounds for sketches (count_distinct 2%, percentiles 1%).
Exit status 0 when everything matches; the differences are printed.
"""
import argparse, collections, ipaddress, json, math, sys, urllib.parse, urllib.request

FIELDS = ["timestamp:int", "flow", "agent:ip", "in_if:int", "out_if:int", "src_mac", "dst_mac",
          "eth_type", "in_vlan:int", "out_vlan:int", "src_ip:ip", "dst_ip:ip", "proto:int",
          "tos:int", "ttl:int", "src_port:int", "dst_port:int", "tcp_flags",
          "packet_size:int", "ip_size:int", "sampling_rate:int"]
NAMES = [f.split(":")[0] for f in FIELDS]
TYPES = [f.split(":")[1] if ":" in f else "str" for f in FIELDS]
INT64 = (-(1 << 63), (1 << 63) - 1)

S = 10**9
# The rules of tests/integration/rules.ini, restated.
RULES = {
    "by_country": dict(window=10 * S, every=10 * S, key=["src_country"], top=None,
                       aggs={"bytes": ("sum", "bytes"), "flows": ("count", None),
                             "max_packet": ("max", "packet_size"), "min_packet": ("min", "packet_size"),
                             "avg_packet": ("avg", "packet_size")}),
    "by_agent": dict(window=10 * S, every=10 * S, key=["agent", "proto"], top=None,
                     aggs={"bytes": ("sum", "bytes"), "sources": ("count_distinct", "src_ip"),
                           "p95_packet": ("p95", "packet_size")}),
    "total": dict(window=10 * S, every=5 * S, key=[], top=None,
                  aggs={"flows": ("count", None), "bytes": ("sum", "bytes"),
                        "stddev_packet": ("stddev", "packet_size")}),
    "top_sources": dict(window=10 * S, every=10 * S, key=["src_ip"], top=(5, "bytes"),
                        aggs={"bytes": ("sum", "bytes"), "flows": ("count", None)}),
}
MEASUREMENT = {"by_country": "rf_by_country", "by_agent": "rf_by_agent", "total": "rf_total",
               "top_sources": "rf_top_sources"}


class Geo:
    """Longest-prefix match over MaxMind's JSON source of the test database."""
    def __init__(self, path):
        self.nets = {4: [], 6: []}
        for entry in json.load(open(path)):
            for net, rec in entry.items():
                n = ipaddress.ip_network(net, strict=False)
                # MaxMind's sources write IPv4 networks IPv4-compatible:
                # "::81.2.69.142/127" is 81.2.69.142/31.
                if n.version == 6 and n.prefixlen >= 96 and int(n.network_address) >> 32 == 0:
                    n = ipaddress.IPv4Network((int(n.network_address), n.prefixlen - 96))
                cc = rec.get("country", {}).get("iso_code", "")
                self.nets[n.version].append((n, cc))
        for v in self.nets:
            self.nets[v].sort(key=lambda t: -t[0].prefixlen)
        self.cache = {}

    def country(self, ip):
        if ip not in self.cache:
            self.cache[ip] = next((cc for n, cc in self.nets[ip.version] if ip in n), "")
        return self.cache[ip]


def parse_int(s):
    neg = s.startswith("-")
    body = s[1:] if s[:1] in "+-" else s
    if body[:2] in ("0x", "0X"):
        digits, base = body[2:], 16
        ok = digits and all(c in "0123456789abcdefABCDEF" for c in digits)
    else:
        digits, base = body, 10
        ok = digits and digits.isdigit() and digits.isascii()
    if not ok:
        raise ValueError
    v = int(digits, base) * (-1 if neg else 1)
    if not INT64[0] <= v <= INT64[1]:
        raise ValueError
    return v


def parse_line(line):
    """Returns the typed columns, or None if ringflow must reject the line."""
    if not line or any((ord(c) < 32 and c != "\t") for c in line):
        return None
    cols = line.split(",")
    if len(cols) != len(FIELDS):
        return None
    out = {}
    for name, typ, col in zip(NAMES, TYPES, cols):
        if col in ("", "-"):
            out[name] = None
            continue
        try:
            if typ == "int":
                out[name] = parse_int(col)
            elif typ == "ip":
                out[name] = ipaddress.ip_address(col)
            else:
                out[name] = col
        except ValueError:
            return None
    if out["timestamp"] is None:
        return None
    return out


def transform(rec, geo):
    """[transform] of rules.ini; None = filtered out."""
    if not (rec["flow"] == "FLOW" and rec["packet_size"] is not None and rec["packet_size"] > 0):
        return None
    ps, sr = rec["packet_size"], rec["sampling_rate"]
    return {
        "src_country": geo.country(rec["src_ip"]) if rec["src_ip"] is not None else "",
        "agent": str(rec["agent"]) if rec["agent"] is not None else "",
        "proto": str(rec["proto"]) if rec["proto"] is not None else "",
        "src_ip": rec["src_ip"],
        "packet_size": ps,
        "bytes": ps * sr if ps is not None and sr is not None else None,
    }


def windows(t, window, every):
    start = t - t % every
    s = start
    while s > t - window:
        yield s
        s -= every


def percentile(values, q):
    """The exact q-quantile lies between these two order statistics, whichever
    rank definition one uses; a sketch must land within 1% of that range."""
    v = sorted(values)
    n = len(v)
    lo = v[max(0, min(n - 1, int(math.floor(q / 100.0 * (n - 1)))))]
    hi = v[max(0, min(n - 1, int(math.ceil(q / 100.0 * n)) - 1))]
    return (min(lo, hi), max(lo, hi))


def finish(func, vals, count):
    vals = [v for v in vals if v is not None]
    if func == "count":
        return count
    if not vals:
        return None
    if func == "sum":
        return sum(vals)
    if func == "min":
        return min(vals)
    if func == "max":
        return max(vals)
    if func == "avg":
        return sum(vals) / len(vals)
    if func == "count_distinct":
        return len(set(vals))
    if func == "stddev":
        if len(vals) < 2:
            return 0.0
        m = sum(vals) / len(vals)
        return math.sqrt(sum((x - m) ** 2 for x in vals) / (len(vals) - 1))
    if func.startswith("p"):
        return percentile(vals, float(func[1:]))
    raise ValueError(func)


def expected(path, geo, lateness=None):
    """With lateness (ns), the input is one partition read in file order: a
    (record, window) pair is late, and dropped, when the window's end is at or
    before the largest event time of the ok records before it minus lateness
    (DESIGN: a record is late exactly when its window was emitted before it
    in its partition's order)."""
    stats = collections.Counter()
    prior_max = None
    groups = {r: collections.defaultdict(lambda: collections.defaultdict(list)) for r in RULES}
    counts = {r: collections.Counter() for r in RULES}
    with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        for raw in f:
            line = raw[:-1] if raw.endswith("\n") else raw
            if line.endswith("\r"):
                line = line[:-1]
            stats["lines"] += 1
            rec = parse_line(line)
            if rec is None:
                stats["rejected"] += 1
                continue
            out = transform(rec, geo)
            if out is None:
                stats["filtered"] += 1
                continue
            stats["ok"] += 1
            t = rec["timestamp"] * S
            closed = None if lateness is None or prior_max is None else prior_max - lateness
            prior_max = t if prior_max is None else max(prior_max, t)
            for name, rule in RULES.items():
                key = tuple(out[k] for k in rule["key"])
                for w in windows(t, rule["window"], rule["every"]):
                    if closed is not None and w + rule["window"] <= closed:
                        stats["late"] += 1
                        continue
                    g = groups[name][(w, key)]
                    counts[name][(w, key)] += 1
                    for agg, (func, field) in rule["aggs"].items():
                        if field:
                            g[agg].append(out[field])
    points = {}
    for name, rule in RULES.items():
        per_window = collections.defaultdict(dict)
        for (w, key), g in groups[name].items():
            fields = {}
            for agg, (func, field) in rule["aggs"].items():
                v = finish(func, g.get(agg, []), counts[name][(w, key)])
                if v is not None:
                    fields[agg] = v
            tags = tuple(sorted((k, str(v)) for k, v in zip(rule["key"], key) if v not in (None, "")))
            per_window[w][tags] = fields
        points[name] = per_window
    return points, stats


def lp_split(s, seps):
    """Split s at unescaped characters in seps (line protocol escaping)."""
    out, cur, i, quoted = [], "", 0, False
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur += s[i + 1]
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        if c in seps and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur)
    return out


def lp_value(v):
    if v.endswith("i"):
        return int(v[:-1])
    if v.startswith('"'):
        return v[1:-1]
    return float(v)


def actual_from_lp(path):
    got = collections.defaultdict(lambda: collections.defaultdict(dict))
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        head, fields, ts = lp_split(line, " ")
        parts = lp_split(head, ",")
        m, tags = parts[0], tuple(sorted(tuple(p.split("=", 1)) for p in parts[1:]))
        fv = dict((k, lp_value(v)) for k, v in (p.split("=", 1) for p in lp_split(fields, ",")))
        got[m][int(ts)][tags] = fv
    return got


def actual_from_influx(url, db):
    got = collections.defaultdict(lambda: collections.defaultdict(dict))
    for name in RULES:
        m = MEASUREMENT[name]
        q = urllib.parse.urlencode({"db": db, "q": f'SELECT * FROM "{m}" GROUP BY *', "epoch": "ns"})
        with urllib.request.urlopen(f"{url}/query?{q}") as r:
            res = json.load(r)["results"][0]
        for series in res.get("series", []):
            tags = tuple(sorted((k, v) for k, v in series.get("tags", {}).items() if v != ""))
            cols = series["columns"]
            for row in series["values"]:
                fv = {c: v for c, v in zip(cols[1:], row[1:]) if v is not None}
                got[m][int(row[0])][tags] = fv
    return got


def close(func, exp, act):
    if func in ("count", "sum", "min", "max"):
        return exp == act
    if func == "count_distinct":
        return abs(act - exp) <= max(1, 0.02 * exp)
    if func.startswith("p"):
        lo, hi = exp
        return lo - 0.01 * abs(lo) - 1e-9 <= act <= hi + 0.01 * abs(hi) + 1e-9
    return math.isclose(act, exp, rel_tol=1e-9, abs_tol=1e-9)


def compare(points, got):
    errors = []
    for name, rule in RULES.items():
        m = MEASUREMENT[name]
        exp_w, act_w = points[name], got.get(m, {})
        if set(exp_w) != set(act_w):
            errors.append(f"{m}: windows differ: missing {sorted(set(exp_w) - set(act_w))[:5]} "
                          f"extra {sorted(set(act_w) - set(exp_w))[:5]}")
        for w in sorted(set(exp_w) & set(act_w)):
            exp, act = exp_w[w], act_w[w]
            if rule["top"]:
                n, by = rule["top"]
                ranked = sorted((f[by] for f in exp.values() if by in f), reverse=True)
                if len(act) != min(n, len(exp)):
                    errors.append(f"{m} @{w}: {len(act)} series, expected top {min(n, len(exp))}")
                nth = ranked[min(n, len(ranked)) - 1] if ranked else None
                for tags, f in act.items():
                    if tags not in exp:
                        errors.append(f"{m} @{w} {tags}: not an input key")
                    elif f.get(by, -1) < nth:
                        errors.append(f"{m} @{w} {tags}: {by}={f.get(by)} below the top {n} ({nth})")
                exp = {t: exp[t] for t in act if t in exp}
            for tags in sorted(set(exp) | set(act)):
                if tags not in act:
                    errors.append(f"{m} @{w} {tags}: missing, expected {exp[tags]}")
                    continue
                if tags not in exp:
                    errors.append(f"{m} @{w} {tags}: unexpected point {act[tags]}")
                    continue
                for agg, (func, _) in rule["aggs"].items():
                    e, a = exp[tags].get(agg), act[tags].get(agg)
                    if (e is None) != (a is None) or (e is not None and not close(func, e, a)):
                        errors.append(f"{m} @{w} {tags} {agg}: expected {e}, got {a}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--geo", required=True, help="GeoIP2-Country-Test.json (MaxMind source data)")
    ap.add_argument("--lp")
    ap.add_argument("--influx")
    ap.add_argument("--db")
    ap.add_argument("--stats", help="write the expected record counts here as JSON")
    ap.add_argument("--lateness", type=float,
                    help="seconds; judge lateness per record in file order (one partition)")
    a = ap.parse_args()
    points, stats = expected(a.data, Geo(a.geo), None if a.lateness is None else int(a.lateness * S))
    if a.stats:
        json.dump(dict(stats), open(a.stats, "w"))
    got = actual_from_lp(a.lp) if a.lp else actual_from_influx(a.influx, a.db)
    errors = compare(points, got)
    npoints = sum(len(s) for r in points.values() for s in r.values())
    print(f"reference: {stats['lines']} lines, {stats['ok']} ok, {stats['filtered']} filtered, "
          f"{stats['rejected']} rejected, {stats['late']} late (record, window) pairs; "
          f"{npoints} expected points")
    for e in errors[:40]:
        print("MISMATCH", e)
    if errors:
        print(f"{len(errors)} mismatches")
        return 1
    print("all points match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
