#!/usr/bin/env python3
"""Baseline for bench_ingest: parse every CSV file of a dataset folder with
pandas.read_csv (C engine, gzip), doing nothing else. Prints JSON with the
seconds taken, the rows parsed and the peak memory of this process."""
import json
import os
import resource
import sys
import time

import pandas as pd

paths = []
for top, _, files in os.walk(sys.argv[1]):
    paths += [os.path.join(top, f) for f in files if ".csv" in f]
paths.sort()
start = time.perf_counter()
rows = 0
for p in paths:
    # on_bad_lines='skip': the real data has one malformed line, which pandas
    # would otherwise refuse to parse at all.
    rows += len(pd.read_csv(p, on_bad_lines="skip", engine="c", low_memory=False))
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rows": rows, "files": len(paths),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
