#!/usr/bin/env python3
# demo_report.py — what scripts/demo.sh prints about the analyzers.
#   demo_report.py alerts < alerts.jsonl          (kcat output: one JSON alert per line)
#   demo_report.py forecast URL DB MEASUREMENT TAG VALUE FIELD
#       the field's actual values per window beside the forecast band
#       (MEASUREMENT_forecast) for the series TAG=VALUE
import json, sys, time, urllib.parse, urllib.request


def alerts():
    n = 0
    for line in sys.stdin:
        a = json.loads(line)
        n += 1
        tags = ",".join(f"{k}={v}" for k, v in a["tags"].items()) or "(all)"
        print(f'{a["time"]}  {a["severity"]:8s} {a["analyzer"]:7s} {a["rule"]} {tags} {a["field"]}: {a["message"]}')
    print(f"{n} alert(s)" if n else "no alert: the burst was not detected")


def query(url, db, q):
    args = urllib.parse.urlencode({"db": db, "q": q, "epoch": "s"})
    with urllib.request.urlopen(f"{url}/query?{args}") as r:
        return json.load(r)["results"][0].get("series", [])


def forecast(url, db, m, tag, value, field):
    actual, band = {}, {}
    for s in query(url, db, f"SELECT \"{field}\" FROM \"{m}\" WHERE \"{tag}\" = '{value}'"):
        for t, v in s["values"]:
            actual[t] = v
    for s in query(url, db, f"SELECT prediction, lower, upper FROM \"{m}_forecast\" "
                            f"WHERE \"{tag}\" = '{value}' AND \"field\" = '{field}'"):
        for t, p, lo, hi in s["values"]:
            band[t] = (p, lo, hi)
    for t in sorted(set(actual) | set(band)):
        a = f"actual {actual[t] / 1e6:8.1f} MB" if t in actual else " " * 18
        b = ""
        if t in band:
            p, lo, hi = band[t]
            flag = "  <- outside" if t in actual and not lo <= actual[t] <= hi else ""
            b = f"  forecast {p / 1e6:8.1f} MB  band [{lo / 1e6:8.1f}, {hi / 1e6:8.1f}]{flag}"
        print(time.strftime("%H:%M:%S", time.gmtime(t)), a + b)


if __name__ == "__main__":
    if sys.argv[1] == "alerts":
        alerts()
    else:
        forecast(*sys.argv[2:8])
