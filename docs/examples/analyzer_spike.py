#!/usr/bin/env python3
# analyzer_spike.py: an example ringflow analyzer in Python, standard library
# only. It does what analyzer_spike.c does, and docs/ANALYZERS.md explains the
# protocol both speak.
#
# For every series (the rule plus the tags of a point) it keeps the mean of
# one field over the earlier windows, and prints a warning alert when the
# field's value in a window is more than --factor times that mean, once the
# series has --min-windows earlier values. A value that alerts stays out of
# the mean, so one spike does not raise the bar for the next one. After each
# window it prints one ordinary point, <measurement>_spike_mean, tagged with
# the rule and field: how many series had the field, how many spiked, and the
# mean of the field over the window's series. Every point it prints carries
# the window start as its timestamp.
#
# Input lines it cannot read are skipped and counted, never fatal.
import argparse
import math
import sys


# ---- line protocol, as ringflow writes it (pipeline/lineproto.h) ----
# Outside string fields a backslash escapes the character after it only if
# that is special in the part (measurement: comma, space; tag keys, tag
# values, field keys: comma, equals sign, space); any other backslash is an
# ordinary character. In a string field, \" and \\ are the escapes.

def _scan(s, i, stops, specials):
    """Reads s from i up to the first unescaped character of stops."""
    out = []
    while i < len(s) and s[i] not in stops:
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in specials:
            i += 1
        out.append(s[i])
        i += 1
    return "".join(out), i


def _field_value(text):
    """A number for a float, integer or unsigned field; None for others."""
    try:
        if text.endswith("i") or text.endswith("u"):
            return int(text[:-1])
        if text in ("t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"):
            return None
        v = float(text)
        return v if math.isfinite(v) else None
    except ValueError:
        return None


def parse_point(s):
    """(measurement, [(tag, value)], {field: value}, time or None), or None."""
    meas, i = _scan(s, 0, ", ", ", ")
    if not meas:
        return None
    tags = []
    while i < len(s) and s[i] == ",":
        k, i = _scan(s, i + 1, ",= ", ",= ")
        if i >= len(s) or s[i] != "=" or not k:
            return None
        v, i = _scan(s, i + 1, ", ", ",= ")
        if not v:
            return None
        tags.append((k, v))
    if i >= len(s) or s[i] != " ":
        return None
    fields = {}
    i += 1
    while True:
        k, i = _scan(s, i, ",= ", ",= ")
        if i >= len(s) or s[i] != "=" or not k:
            return None
        i += 1
        if i < len(s) and s[i] == '"':
            v, i = _scan(s, i + 1, '"', '"\\')
            if i >= len(s):
                return None
            i += 1
        else:
            text, i = _scan(s, i, ", ", "")
            v = _field_value(text)
        fields[k] = v
        if i >= len(s) or s[i] != ",":
            break
        i += 1
    t = None
    if i < len(s):
        if s[i] != " ":
            return None
        try:
            t = int(s[i + 1:])
        except ValueError:
            return None
    return meas, tags, fields, t


def _esc(s, specials):
    s = s.replace("\n", " ").replace("\r", " ")
    for c in specials:
        s = s.replace(c, "\\" + c)
    return s


def format_point(meas, tags, fields, t):
    """One line. fields: {key: int | float | str}; NaN and infinities left out."""
    if meas.startswith("#"):
        meas = "_" + meas[1:]
    head = _esc(meas, ", ") + "".join(
        f",{_esc(k, ',= ')}={_esc(v, ',= ')}" for k, v in tags if k and v)
    parts = []
    for k, v in fields.items():
        if isinstance(v, str):
            v = '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
        elif isinstance(v, int):
            v = f"{v}i"
        elif math.isfinite(v):
            v = repr(float(v))
        else:
            continue
        parts.append(f"{_esc(k, ',= ')}={v}")
    return f"{head} {','.join(parts)} {t}"


# ---- the window protocol (DESIGN.md section 5) ----

def windows(stream, skipped):
    """Yields (header dict, [points]) per window block; counts bad lines."""
    head, points = None, []
    for raw in stream:
        try:
            line = raw.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError:
            skipped["binary"] = skipped.get("binary", 0) + 1
            continue
        if line.startswith("# window "):
            if head is not None:  # a block cut short: what came is kept
                yield head, points
            kv = dict(w.split("=", 1) for w in line.split()[2:] if "=" in w)
            try:
                head = {"rule": kv["rule"], "measurement": kv["measurement"],
                        "start": int(kv["start"]), "end": int(kv["end"])}
            except (KeyError, ValueError):
                skipped["bad_header"] = skipped.get("bad_header", 0) + 1
                head = None
            points = []
        elif line == "# end" and head is not None:
            yield head, points
            head, points = None, []
        elif not line.strip() or line.startswith("#"):
            continue
        elif head is None:
            skipped["outside_block"] = skipped.get("outside_block", 0) + 1
        else:
            pt = parse_point(line)
            if pt is None:
                skipped["bad_point"] = skipped.get("bad_point", 0) + 1
            else:
                points.append(pt)
    if head is not None:
        yield head, points


def main():
    ap = argparse.ArgumentParser(description="alert on spikes of one field")
    ap.add_argument("--field", default="bytes")
    ap.add_argument("--factor", type=float, default=5.0)
    ap.add_argument("--min-windows", type=int, default=3)
    args = ap.parse_args()
    if not args.factor > 0 or not math.isfinite(args.factor) or args.min_windows < 1:
        ap.error("--factor and --min-windows must be positive")
    field, factor = args.field, args.factor

    state = {}      # (rule, sorted tags) -> [sum, n] of the values that did not alert
    skipped = {}
    nskipped = 0
    for w, points in windows(sys.stdin.buffer, skipped):
        out = []
        nseries = nspikes = 0
        wsum = 0.0
        for meas, tags, fields, _ in points:
            v = fields.get(field)
            if v is None or isinstance(v, str):
                continue
            v = float(v)
            s = state.setdefault((w["rule"], tuple(sorted(tags))), [0.0, 0])
            nseries += 1
            wsum += v
            mean = s[0] / s[1] if s[1] else 0.0
            if s[1] >= args.min_windows and v > factor * mean:
                alert_tags = [("rule", w["rule"]), ("field", field), ("severity", "warning")]
                alert_tags += [(k, x) for k, x in tags if k not in ("rule", "field", "severity")]
                out.append(format_point("alert", alert_tags, {
                    "message": "%s %g above %g x mean %g" % (field, v, factor, mean),
                    "value": v, "expected": mean, "upper": factor * mean,
                    "score": v / mean if mean else math.inf}, w["start"]))
                nspikes += 1
            else:
                s[0] += v
                s[1] += 1
        summary = {"series": nseries, "spikes": nspikes}
        if nseries:
            summary["mean"] = wsum / nseries
        out.append(format_point(w["measurement"] + "_spike_mean",
                                [("rule", w["rule"]), ("field", field)], summary, w["start"]))
        try:
            sys.stdout.write("\n".join(out) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the host has gone (it is stopping)
            return 0
        if sum(skipped.values()) != nskipped:
            nskipped = sum(skipped.values())
            print(f"analyzer-spike.py: {nskipped} input lines skipped so far: {skipped}", file=sys.stderr)
    print(f"analyzer-spike.py: done: {len(state)} series", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
