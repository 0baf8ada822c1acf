#!/usr/bin/env python3
"""Statistics of a nezha-format dataset, to compare the simulator with TrainTicket.

Usage (Debian's python3-pandas; use /usr/bin/python3 if another python shadows it):

    python3 scripts/sim_vs_trainticket.py --data ../shared/data/trainticket/nezha \
        --data /tmp/sim_nezha [--json]

For every --data folder it prints (as one markdown table, one column per folder):
spans per trace, trace depth, root span duration, traces and spans per minute,
log lines per minute (system and per pod), log level shares, log lines per span,
metric variability (coefficient of variation of CpuUsageRate(%), MemoryUsage(Mi),
PodWorkload(Ops) per pod, median over pods; lag-1 autocorrelation of CPU) and how
faults show up: per fault type, the median ratio of the target pod's CPU,
memory and server latency P90 in the 3 minutes after injection against the 10
minutes before, and the target pod's error+warn log lines per minute in those
3 minutes.

Folder layout: <root>[/rca_data]/<day>/{metric/*_metric.csv*, trace/*_trace.csv*,
log/*_log.csv*, *fault_list.json}. Only rca_data is used when it exists
(construct_data repeats the same days' metrics).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np
import pandas as pd


def day_dirs(root):
    base = os.path.join(root, "rca_data") if os.path.isdir(os.path.join(root, "rca_data")) else root
    days = sorted(d for d in glob.glob(os.path.join(base, "*")) if os.path.isdir(os.path.join(d, "metric"))
                  or os.path.isdir(os.path.join(d, "trace")) or os.path.isdir(os.path.join(d, "log")))
    return days


def files(day, sub, suffix):
    return sorted(glob.glob(os.path.join(day, sub, "*" + suffix + ".csv")) +
                  glob.glob(os.path.join(day, sub, "*" + suffix + ".csv.gz")))


def read_csvs(paths, **kw):
    frames = []
    for p in paths:
        try:
            frames.append(pd.read_csv(p, on_bad_lines="skip", **kw))
        except pd.errors.EmptyDataError:
            pass
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def log_level(docker_json):
    # nezha's Log field: {"log":"HH:MM:SS.mmm LEVEL  text\n",...}
    try:
        text = json.loads(docker_json)["log"]
    except (ValueError, TypeError, KeyError):
        return "?"
    parts = text.split(None, 2)
    return parts[1].upper() if len(parts) > 1 else "?"


def pct(series, q):
    return float(np.percentile(series, q)) if len(series) else float("nan")


def trace_stats(days):
    out = {}
    spans = read_csvs([f for d in days for f in files(d, "trace", "_trace")],
                      usecols=["TraceID", "SpanID", "ParentID", "PodName", "StartTimeUnixNano", "Duration"])
    if spans.empty:
        return out
    per_trace = spans.groupby("TraceID").size()
    out["spans per trace (mean)"] = per_trace.mean()
    out["spans per trace (median)"] = per_trace.median()
    out["spans per trace (p90)"] = pct(per_trace, 90)
    roots = spans[spans["ParentID"] == "root"]
    out["root span duration ms (median)"] = roots["Duration"].median() / 1000
    out["root span duration ms (p99)"] = pct(roots["Duration"], 99) / 1000
    # depth of each span via parent links (iterative join)
    parent = dict(zip(spans["SpanID"], spans["ParentID"]))
    depth_cache = {}

    def depth(sid):
        d, cur, seen = 0, sid, 0
        while cur in parent and parent[cur] != "root" and seen < 64:
            cur = parent[cur]
            d += 1
            seen += 1
        return d

    sample = spans["SpanID"].iloc[:: max(1, len(spans) // 20000)]
    depths = [depth_cache.setdefault(s, depth(s)) for s in sample]
    out["span depth (mean)"] = float(np.mean(depths))
    out["span depth (max)"] = float(np.max(depths))
    minute = spans["StartTimeUnixNano"] // 60_000_000_000
    out["traces per minute (mean)"] = spans.groupby(minute)["TraceID"].nunique().mean()
    out["spans per minute (mean)"] = spans.groupby(minute).size().mean()
    out["services per trace (mean)"] = spans.assign(svc=spans["PodName"].str.replace(r"-[0-9a-z]+-[0-9a-z]+$", "", regex=True)).groupby("TraceID")["svc"].nunique().mean()
    return out


def log_stats(days):
    out = {}
    logs = read_csvs([f for d in days for f in files(d, "log", "_log")],
                     usecols=["TimeUnixNano", "PodName", "SpanID", "Log"])
    if logs.empty:
        return out, logs
    logs["level"] = logs["Log"].map(log_level)
    logs["minute"] = logs["TimeUnixNano"] // 60_000_000_000
    per_min = logs.groupby("minute").size()
    out["log lines per minute (system, mean)"] = per_min.mean()
    out["log lines per minute per pod (median)"] = logs.groupby(["minute", "PodName"]).size().median()
    shares = logs["level"].value_counts(normalize=True)
    for lvl in ("INFO", "WARN", "ERROR"):
        out[f"log level share {lvl}"] = float(shares.get(lvl, 0.0))
    out["log lines per logged span (mean)"] = logs.groupby("SpanID").size().mean()
    return out, logs


def metric_frames(days):
    frames = {}
    for d in days:
        for f in files(d, "metric", "_metric"):
            pod = os.path.basename(f).split("_metric")[0]
            try:
                df = pd.read_csv(f, on_bad_lines="skip")
            except pd.errors.EmptyDataError:
                continue
            if "TimeStamp" not in df.columns:
                continue
            frames.setdefault(pod, []).append(df)
    return {p: pd.concat(v, ignore_index=True).sort_values("TimeStamp") for p, v in frames.items()}


def cv(x):
    x = x.dropna()
    m = x.mean()
    return float(x.std() / m) if len(x) > 2 and m > 0 else float("nan")


def metric_stats(metrics):
    out = {}
    if not metrics:
        return out
    for col, name in (("CpuUsageRate(%)", "CPU"), ("MemoryUsage(Mi)", "memory"), ("PodWorkload(Ops)", "workload")):
        vals = [cv(df[col]) for df in metrics.values() if col in df.columns]
        vals = [v for v in vals if not np.isnan(v)]
        out[f"CV of {name} per pod (median)"] = float(np.median(vals)) if vals else float("nan")
    ac = [df["CpuUsageRate(%)"].dropna().autocorr(1) for df in metrics.values() if len(df) > 10]
    ac = [a for a in ac if not np.isnan(a)]
    out["lag-1 autocorrelation of CPU (median)"] = float(np.median(ac)) if ac else float("nan")
    out["CpuUsageRate(%) (median over pods of the mean)"] = float(np.median([df["CpuUsageRate(%)"].mean() for df in metrics.values()]))
    return out


def load_faults(days):
    faults = []
    for d in days:
        for f in glob.glob(os.path.join(d, "*fault_list.json")):
            with open(f) as fh:
                doc = json.load(fh)
            for items in doc.values():
                for it in items:
                    t = pd.Timestamp(it["inject_time"], tz="UTC").value // 1_000_000_000
                    faults.append((t, it["inject_pod"], it["inject_type"]))
    return faults


def fault_stats(metrics, logs, faults):
    out = {}
    by_type = {}
    for t, pod, ftype in faults:
        df = metrics.get(pod)
        rec = {}
        if df is not None:
            ts = df["TimeStamp"]
            before = df[(ts >= t - 600) & (ts < t - 60)]
            during = df[(ts >= t) & (ts < t + 180)]
            for col, key in (("CpuUsageRate(%)", "cpu"), ("MemoryUsage(Mi)", "mem"), ("PodServerLatencyP90(s)", "lat")):
                b, a = before[col].mean(), during[col].mean()
                if b and b > 0 and not np.isnan(a):
                    rec[key] = a / b
        if not logs.empty:
            sel = logs[(logs["PodName"] == pod) & (logs["TimeUnixNano"] >= t * 1_000_000_000) &
                       (logs["TimeUnixNano"] < (t + 180) * 1_000_000_000)]
            rec["errlogs"] = float(sel["level"].isin(["ERROR", "WARN"]).sum()) / 3.0
        by_type.setdefault(ftype, []).append(rec)
    for ftype, recs in sorted(by_type.items()):
        parts = [f"n={len(recs)}"]
        for key, label in (("cpu", "CPU x"), ("mem", "mem x"), ("lat", "P90 x"), ("errlogs", "err+warn logs/min")):
            vals = [r[key] for r in recs if key in r]
            if vals:
                parts.append(f"{label} {np.median(vals):.2f}")
        out[f"fault {ftype}"] = ", ".join(parts)
    return out


def stats_of(root):
    days = day_dirs(root)
    if not days:
        sys.exit(f"error: no nezha day folders (metric/, trace/, log/) under {root}")
    s = {}
    s.update(trace_stats(days))
    ls, logs = log_stats(days)
    s.update(ls)
    metrics = metric_frames(days)
    s.update(metric_stats(metrics))
    faults = load_faults(days)
    s["faults"] = len(faults)
    s.update(fault_stats(metrics, logs, faults))
    return s


def fmt(v):
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="nezha-format folder (repeatable)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    results = {d: stats_of(d) for d in args.data}
    if args.json:
        print(json.dumps(results, indent=1, default=float))
        return
    keys = []
    for r in results.values():
        keys += [k for k in r if k not in keys]
    print("| statistic | " + " | ".join(os.path.basename(os.path.normpath(d)) for d in args.data) + " |")
    print("|---" * (len(args.data) + 1) + "|")
    for k in keys:
        print(f"| {k} | " + " | ".join(fmt(results[d].get(k)) for d in args.data) + " |")


if __name__ == "__main__":
    main()
