#!/usr/bin/env python3
"""Independent count of the records in a nezha-layout folder (python's csv
module, no code shared with the C++ reader): metric rows, spans and log lines
(data rows, header excluded), printed as JSON."""
import csv
import gzip
import json
import os
import sys

csv.field_size_limit(1 << 30)


def rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


counts = {"metric_rows": 0, "spans": 0, "log_lines": 0}
for top, dirs, files in os.walk(sys.argv[1]):
    kind = os.path.basename(top)
    key = {"metric": "metric_rows", "trace": "spans", "log": "log_lines"}.get(kind)
    if not key:
        continue
    for name in files:
        if ".csv" in name:
            counts[key] += rows(os.path.join(top, name))
print(json.dumps(counts))
