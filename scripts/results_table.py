#!/usr/bin/env python3
"""Prints the docs/results.md table and summary lines for one `rslicer eval`
output: python3 scripts/results_table.py out/eval-time-per-day/metrics.json"""
import json
import sys

j = json.load(open(sys.argv[1]))
order = ["rslicer_global", "raw_backbone", "spot_raw", "always_anomalous", "baro", "baro_no_latency", "nsigma",
         "knn_raw", "majority"]
names = {"rslicer_global": "rslicer_global (ablation, K = 1)"}
others = {**j.get("ablation", {}), **j.get("baselines", {})}


def f(x):
    return f"{x:.3f}"


def row(name, m):
    cells = [name]
    ad = m.get("ad")
    if ad:
        e, p = ad["event"], ad["point"]
        cells += [f"{f(e['precision'])} / {f(e['recall'])} / {f(e['f1'])}",
                  f"{f(p['precision'])} / {f(p['recall'])} / {f(p['f1'])}",
                  f(ad["alarm_time_fraction"]), f"{ad['false_alarms_per_day']:.1f}"]
    else:
        cells += [""] * 4
    cells.append(f(m["ft"]["f1"]) if m.get("ft") else "")
    rcl = m.get("rcl")
    cells += [f(rcl["ac@1"]), f(rcl["ac@3"]), f(rcl["avg@5"])] if rcl else [""] * 3
    return "| " + " | ".join(cells) + " |"


print("| method | AD event P/R/F1 (published) | AD point P/R/F1 | time in alarm | false alarms/day | FT weighted F1 | AC@1 | AC@3 | Avg@5 |")
print("|---|---|---|---|---|---|---|---|---|")
print(row("rslicer (ours, state-aware)", j))
for k in order:
    if k in others:
        print(row(names.get(k, k), others[k]))
print()
ci = ", ".join(f"{k} [{f(v[0])}, {f(v[1])}]" for k, v in j["ci95"].items())
print(f"Our 95 % intervals: {ci}")
per = j["rcl"].get("per_fault_type", {})
print("Per fault type (ours, RCL AC@1 / AC@3, cases): " +
      ", ".join(f"{t} {v['ac@1']:.2f} / {v['ac@3']:.2f} ({v['cases']})" for t, v in sorted(per.items())))
for fold in j.get("fold_info", []):
    loo = ", ".join(f"{k} {v:.3f}" for k, v in fold.get("rcl_train_loo_ac1", {}).items())
    print(f"fold {fold['fold']} RCL head: {fold.get('rcl_head')} ; training LOO AC@1: {loo}")
