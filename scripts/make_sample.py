#!/usr/bin/env python3
"""Cuts the bundled sample (data/trainticket-sample) out of the full
TrainTicket data (../shared/data/trainticket/nezha), reproducibly:

- two real fault periods: 2023-01-29 08:10-11:45 UTC (24 return/exception
  faults) and 2023-01-30 11:15-14:20 UTC (17 network_delay/cpu_contention
  faults), with 30 minutes of normal metrics before each;
- every metric row of those periods;
- one trace in four (chosen by a hash of the trace id), with all its spans,
  and the log lines of the kept traces plus every log line without a trace.

With --full-days the periods are both whole days instead: every metric row
of 2023-01-29 and 2023-01-30 and all 45 faults, so that most minutes are
fault-free (the demo's test part: 8 % fault time, against 65 % on the
bundled sample). Not bundled; docs/results.md ("The demo's sample")
measures the demo on it.

Usage: python3 scripts/make_sample.py [--full-days] SRC_NEZHA_DIR OUT_DIR
"""
import csv
import gzip
import hashlib
import io
import json
import os
import sys
from datetime import datetime, timezone

PERIODS = {
    "2023-01-29": ("2023-01-29 08:10:00", "2023-01-29 11:45:00"),
    "2023-01-30": ("2023-01-30 11:15:00", "2023-01-30 14:20:00"),
}
KEEP_ONE_IN = 4


def epoch(s):
    return int(datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp())


def keep_trace(trace_id):
    return int(hashlib.sha1(trace_id.encode()).hexdigest(), 16) % KEEP_ONE_IN == 0


def read_rows(path):
    with gzip.open(path, "rt", newline="") as f:
        return list(csv.reader(f))


def write_rows(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    # mtime=0 keeps the archive bytes identical across runs
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(buf.getvalue().encode())


def main(src, out):
    for day, (lo_s, hi_s) in PERIODS.items():
        lo, hi = epoch(lo_s), epoch(hi_s)
        d = os.path.join(src, "rca_data", day)
        o = os.path.join(out, "rca_data", day)
        for name in sorted(os.listdir(os.path.join(d, "metric"))):
            rows = read_rows(os.path.join(d, "metric", name))
            kept = [rows[0]] + [r for r in rows[1:] if len(r) > 1 and lo <= int(r[1]) < hi]
            write_rows(os.path.join(o, "metric", name), kept)
        for name in sorted(os.listdir(os.path.join(d, "trace"))):
            hh, mm = int(name[0:2]), int(name[3:5])
            t = epoch(f"{day} {hh:02d}:{mm:02d}:00")
            if not lo <= t < hi:
                continue
            rows = read_rows(os.path.join(d, "trace", name))
            write_rows(os.path.join(o, "trace", name), [rows[0]] + [r for r in rows[1:] if keep_trace(r[0])])
            log_name = name.replace("_trace", "_log")
            if os.path.exists(os.path.join(d, "log", log_name)):
                rows = read_rows(os.path.join(d, "log", log_name))
                kept = [rows[0]] + [r for r in rows[1:] if len(r) < 6 or not r[5] or keep_trace(r[5])]
                write_rows(os.path.join(o, "log", log_name), kept)
        labels = json.load(open(os.path.join(d, f"{day}-fault_list.json")))
        cut = {}
        for hour, faults in labels.items():
            sel = [f for f in faults if lo <= epoch(f["inject_time"]) < hi]
            if sel:
                cut[hour] = sel
        with open(os.path.join(o, f"{day}-fault_list.json"), "w") as f:
            json.dump(cut, f, indent=4)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--full-days":
        args = args[1:]
        PERIODS = {day: (f"{day} 00:00:00", f"{day} 23:59:59") for day in PERIODS}
    if len(args) != 2:
        sys.exit(__doc__)
    main(args[0], args[1])
