#!/usr/bin/env python3
"""Independent count of the exact duplicates in a Nezha/TraStrainer folder,
for checking the slicer's duplicate filter: metric points with the same
(pod or service, KPI, TimeStamp) and non-empty finite value; spans with the
same (TraceID, SpanID). Prints JSON. Uses only python's csv and gzip modules.

  python3 tests/ingest/count_duplicates.py DIR"""
import collections
import csv
import gzip
import json
import math
import os
import sys

META = {"Time", "TimeStamp", "PodName", "ServiceName"}
points, spans = collections.Counter(), collections.Counter()
for top, _, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        if not (name.endswith(".csv") or name.endswith(".csv.gz")):
            continue
        path = os.path.join(top, name)
        with (gzip.open(path, "rt") if name.endswith(".gz") else open(path)) as fh:
            rows = csv.reader(fh)
            header = next(rows, None)
            if header is None:
                continue
            if "TimeStamp" in header and ("PodName" in header or "ServiceName" in header):
                ts = header.index("TimeStamp")
                ent = header.index("PodName") if "PodName" in header else header.index("ServiceName")
                kpis = [i for i, h in enumerate(header) if h not in META]
                for row in rows:
                    if len(row) != len(header):
                        continue
                    for i in kpis:
                        try:
                            v = float(row[i])
                        except ValueError:
                            continue
                        if math.isfinite(v):
                            points[(row[ent].strip(), header[i], row[ts])] += 1
            elif header[:2] == ["TraceID", "SpanID"]:
                for row in rows:
                    if len(row) == len(header):
                        spans[(row[0], row[1])] += 1
dup_points = sum(c - 1 for c in points.values())
dup_spans = sum(c - 1 for c in spans.values())
print(json.dumps({"metric_point_duplicates": dup_points, "span_duplicates": dup_spans,
                  "duplicates": dup_points + dup_spans}))
