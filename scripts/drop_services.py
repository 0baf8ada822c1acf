#!/usr/bin/env python3
"""Makes a copy of a Nezha-layout data folder with partial tracing: some
services are not instrumented (every span of theirs is removed from the
trace files), and/or only a share of the traces is kept (head sampling, by a
hash of the trace id); metrics, logs, labels and everything else are linked
unchanged. A way to measure what root-cause ranking keeps when tracing covers
only part of a system, as it often does.

Which services go: each service whose MD5 hash of its name is 0 modulo
--every (so about 1 in N, reproducibly and without looking at labels), or the
ones named with --service. A pod's service is its name without the last two
dash-separated parts (Kubernetes deployment pods: NAME-REPLICASET-POD).

The spans of kept services stay as they are: a call from a kept service into
a removed one leaves a span without a child, a call from a removed service
into a kept one a span whose parent is missing.

With --trace-share P a trace is kept when the MD5 of its trace id, as a
fraction of 2^128, is below P (the same traces for every file and run).

Usage: python3 scripts/drop_services.py SRC_DIR OUT_DIR [--every N] [--service NAME ...] [--trace-share P]
"""
import argparse
import csv
import gzip
import hashlib
import os
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
    a = ap.parse_args()
    if a.every <= 0 and not a.service and a.trace_share >= 1.0:
        ap.error("give --every N, --service NAME or --trace-share P")
    if not 0.0 < a.trace_share <= 1.0:
        ap.error(f"--trace-share {a.trace_share}: must be in (0, 1]")
    if os.path.exists(a.out):
        ap.error(f"{a.out} exists; give a new folder")

    def sampled_out(trace_id):
        return a.trace_share < 1.0 and int(hashlib.md5(trace_id.encode()).hexdigest(), 16) >= a.trace_share * 2**128

    def removed(svc):
        if svc in a.service:
            return True
        return a.every > 0 and int(hashlib.md5(svc.encode()).hexdigest(), 16) % a.every == 0

    gone, kept = set(), set()
    spans_gone = spans_kept = spans_sampled_out = 0
    for root, _, files in os.walk(a.src):
        rel = os.path.relpath(root, a.src)
        os.makedirs(os.path.join(a.out, rel), exist_ok=True)
        for f in sorted(files):
            src, dst = os.path.join(root, f), os.path.join(a.out, rel, f)
            if not f.endswith("trace.csv.gz"):  # Nezha: trace/HH_MM_trace.csv.gz (not traceid/)
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
    print(f"removed {len(gone)} services ({spans_gone} spans): {', '.join(sorted(gone))}")
    print(f"kept {len(kept)} services ({spans_kept} spans)")
    if a.trace_share < 1.0:
        print(f"sampled out {spans_sampled_out} spans (trace share {a.trace_share})")


if __name__ == "__main__":
    main()
