// The report folder: metrics.json (stable keys, see docs/evaluation.md) and a
// self-contained report.html (inline SVG, no scripts, no external fonts):
// results tables with 95 % intervals, state timeline with alarms and faults,
// 2-D embedding projection, triage confusion matrix and per-case root cause
// rankings with their evidence, plus the configuration and the split. Every
// number comes from the typed results (eval/eval.h).
#pragma once

#include <string>

#include "eval/eval.h"

namespace rslicer::eval {

// Writes out_dir/metrics.json (r.metrics) and out_dir/report.html; returns the HTML path.
std::string write_report(const std::string& out_dir, const EvalResult& r);

// The HTML alone (tests render it).
std::string render_html(const EvalResult& r);

// A short plain-text results table (the demo and eval print it).
std::string results_table(const EvalResult& r);
// Lines under the table that say what its AD columns can show on this data: the share of test slices inside a
// labelled fault (what always_anomalous scores), and which AD score ours used and why ("" when neither applies).
std::string reading_notes(const EvalResult& r);

}  // namespace rslicer::eval
