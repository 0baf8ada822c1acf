#!/usr/bin/env python3
"""Makes a copy of a Nezha-layout data folder with partial tracing: some
services are not instrumented (every span of theirs is removed from the
trace files), and/or only a share of the traces is kept (head sampling, by a
hash of the trace id); and/or with logs kept only around the labelled faults
while the traces stay continuous; metrics, labels and everything else are
linked unchanged. A way to measure what root-cause ranking keeps when tracing
or logging covers only part of a system, as it often does.

Which services go: each service whose MD5 hash of its name is 0 modulo
--every (so about 1 in N, reproducibly and without looking at labels), or the
ones named with --service. A pod's service is its name without the last two
dash-separated parts (Kubernetes deployment pods: NAME-REPLICASET-POD).

The spans of kept services stay as they are: a call from a kept service into
a removed one leaves a span without a child, a call from a removed service
into a kept one a span whose parent is missing.

With --trace-share P a trace is kept when the MD5 of its trace id, as a
fraction of 2^128, is below P (the same traces for every file and run).

With --logs-around-faults BEFORE,AFTER a log line (log/*_log.csv.gz,
TimeUnixNano) is kept when it lies in [inject - BEFORE s, inject + AFTER s)
of a fault of any *fault_list.json (inject_time read as UTC): log collection
like Nezha's (its logs exist only around the faults) beside continuous traces
(TraStrainer's), as when both TrainTicket folders are read together.

With --no-logs no log file (log/*_log.csv.gz) is copied: a system with metrics
and traces and no logs at all.

Usage: python3 scripts/drop_services.py SRC_DIR OUT_DIR [--every N] [--service NAME ...] [--trace-share P]
                                        [--logs-around-faults BEFORE,AFTER | --no-logs]
"""
import argparse
import bisect
import csv
import datetime
import glob
import gzip
import hashlib
import json
import math
import os
import shutil
import sys


def service_of(pod):
    parts = pod.split("-")
    return "-".join(parts[:-2]) if len(parts) > 2 else pod


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--every", type=int, default=0, help="remove each service whose name's MD5 is 0 modulo this")
    ap.add_argument("--service", action="append", default=[], help="remove this service (repeatable)")
    ap.add_argument("--trace-share", type=float, default=1.0, help="keep this share of the traces (0-1]")
    ap.add_argument("--logs-around-faults", metavar="BEFORE,AFTER",
                    help="keep log lines only in [inject - BEFORE s, inject + AFTER s) of each labelled fault")
    ap.add_argument("--no-logs", action="store_true", help="copy no log file (metrics and traces only)")
    a = ap.parse_args()
    if a.every <= 0 and not a.service and a.trace_share >= 1.0 and not a.logs_around_faults and not a.no_logs:
        ap.error("give --every N, --service NAME, --trace-share P, --logs-around-faults BEFORE,AFTER or --no-logs")
    if a.no_logs and a.logs_around_faults:
        ap.error("--no-logs and --logs-around-faults exclude each other")
    if not 0.0 < a.trace_share <= 1.0:
        ap.error(f"--trace-share {a.trace_share}: must be in (0, 1]")
    if os.path.exists(a.out):
        ap.error(f"{a.out} exists; give a new folder")
    windows, faults = fault_windows(a.src, a.logs_around_faults, ap) if a.logs_around_faults else (None, 0)

    def sampled_out(trace_id):
        return a.trace_share < 1.0 and int(hashlib.md5(trace_id.encode()).hexdigest(), 16) >= a.trace_share * 2**128

    def removed(svc):
        if svc in a.service:
            return True
        return a.every > 0 and int(hashlib.md5(svc.encode()).hexdigest(), 16) % a.every == 0

    try:
        copy(a, windows, faults, removed, sampled_out)
    except SystemExit:  # a bad file: no half-written copy is left behind
        shutil.rmtree(a.out, ignore_errors=True)
        raise


def copy(a, windows, faults, removed, sampled_out):
    """Writes the copy (see the module doc); exits naming the file and line of bad input."""
    lines_kept = lines_dropped = log_files_left = 0
    spans_as_they_are = a.every <= 0 and not a.service and a.trace_share >= 1.0  # trace files linked, not read
    gone, kept = set(), set()
    spans_gone = spans_kept = spans_sampled_out = 0
    for root, _, files in os.walk(a.src):
        rel = os.path.relpath(root, a.src)
        os.makedirs(os.path.join(a.out, rel), exist_ok=True)
        for f in sorted(files):
            src, dst = os.path.join(root, f), os.path.join(a.out, rel, f)
            if a.no_logs and f.endswith("_log.csv.gz"):
                log_files_left += 1
                continue
            if windows is not None and f.endswith("_log.csv.gz"):
                kept_here, dropped_here = keep_log_lines(src, dst, windows)
                lines_kept += kept_here
                lines_dropped += dropped_here
                continue
            if not f.endswith("trace.csv.gz") or spans_as_they_are:  # Nezha: trace/HH_MM_trace.csv.gz (not traceid/)
                os.symlink(os.path.abspath(src), dst)
                continue
            with gzip.open(src, "rt", newline="") as fi, gzip.open(dst, "wt", newline="") as fo:
                r, w = csv.reader(fi), csv.writer(fo)
                head = next(r, None)
                if head is None:
                    continue
                w.writerow(head)
                if "PodName" not in head:
                    sys.exit(f"{src}: line 1: no PodName column in {head}")
                if "TraceID" not in head:
                    sys.exit(f"{src}: line 1: no TraceID column in {head}")
                pod, tid = head.index("PodName"), head.index("TraceID")
                for line, row in enumerate(r, start=2):
                    if len(row) <= max(pod, tid):
                        sys.exit(f"{src}: line {line}: {len(row)} fields, PodName is field {pod + 1}, "
                                 f"TraceID field {tid + 1}")
                    svc = service_of(row[pod])
                    if sampled_out(row[tid]):
                        spans_sampled_out += 1
                    elif removed(svc):
                        gone.add(svc)
                        spans_gone += 1
                    else:
                        kept.add(svc)
                        spans_kept += 1
                        w.writerow(row)
    if windows is not None:
        print(f"kept {lines_kept} log lines around {faults} faults, dropped {lines_dropped}")
    if a.no_logs:
        print(f"left out {log_files_left} log files")
    if a.every > 0 or a.service:
        print(f"removed {len(gone)} services ({spans_gone} spans): {', '.join(sorted(gone))}")
    if not spans_as_they_are:
        print(f"kept {len(kept)} services ({spans_kept} spans)")
    if a.trace_share < 1.0:
        print(f"sampled out {spans_sampled_out} spans (trace share {a.trace_share})")


def fault_windows(src, spec, ap):
    """Sorted, merged [(start, end)] in Unix nanoseconds around every labelled fault under src. A fault without
    a readable inject_time is reported and skipped, as the reader does."""
    try:
        before, after = (float(x) for x in spec.split(","))
    except ValueError:
        ap.error(f"--logs-around-faults {spec!r}: give BEFORE,AFTER in seconds, e.g. 60,180")
    if not (math.isfinite(before) and math.isfinite(after)) or before < 0 or after <= 0:
        ap.error(f"--logs-around-faults {spec!r}: BEFORE must be >= 0 and AFTER > 0 (seconds)")
    windows, seen = [], set()
    for path in sorted(glob.glob(os.path.join(src, "**", "*fault_list.json"), recursive=True)):
        with open(path) as f:
            labels = json.load(f)
        if not isinstance(labels, dict):
            print(f"{path}: not an object of hour -> faults; skipped", file=sys.stderr)
            continue
        for hour, faults in labels.items():
            for fault in faults if isinstance(faults, list) else [faults]:
                try:
                    t = datetime.datetime.strptime(fault["inject_time"].strip(), "%Y-%m-%d %H:%M:%S")
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    print(f"{path}: hour {hour}: fault {fault!r}: no readable inject_time ({e}); skipped",
                          file=sys.stderr)
                    continue
                t = int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) * 10**9
                if t not in seen:  # the same fault in two label files keeps one window
                    seen.add(t)
                    windows.append((t - int(before * 1e9), t + int(after * 1e9)))
    if not windows:
        sys.exit(f"{src}: no labelled fault (*fault_list.json) to keep logs around")
    merged = []
    for w in sorted(windows):
        if merged and w[0] <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], w[1]))
        else:
            merged.append(w)
    return merged, len(seen)


def keep_log_lines(src, dst, windows):
    """Copies the lines of one log file (TimeUnixNano in nanoseconds, as Nezha's files carry it) that lie in a
    window; blank rows are dropped as the reader skips them. Returns (kept, dropped)."""
    csv.field_size_limit(1 << 30)  # log lines can be long
    starts = [a for a, _ in windows]
    kept = dropped = 0
    with gzip.open(src, "rt", newline="") as fi, gzip.open(dst, "wt", newline="") as fo:
        r, w = csv.reader(fi), csv.writer(fo)
        head = next(r, None)
        if head is None:
            return 0, 0
        w.writerow(head)
        if "TimeUnixNano" not in head:
            sys.exit(f"{src}: line 1: no TimeUnixNano column in {head}")
        col = head.index("TimeUnixNano")
        for line, row in enumerate(r, start=2):
            if not row:
                continue
            try:
                t = int(row[col])
            except (IndexError, ValueError):
                sys.exit(f"{src}: line {line}: TimeUnixNano {row[col] if len(row) > col else '(missing)'!r} "
                         "is not an integer (nanoseconds)")
            i = bisect.bisect_right(starts, t) - 1
            if i >= 0 and t < windows[i][1]:
                w.writerow(row)
                kept += 1
            else:
                dropped += 1
    return kept, dropped


if __name__ == "__main__":
    main()
