// The report folder: metrics.json (stable keys, see docs/evaluation.md) and a
// self-contained report.html (inline SVG, no scripts, no external fonts):
// results tables with 95 % intervals, state timeline with alarms and faults,
// 2-D embedding projection, triage confusion matrix and per-case root cause
// rankings, plus the configuration and the split.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/harness.h"

namespace rslicer::eval {

// Writes out_dir/metrics.json and out_dir/report.html; returns the HTML path.
std::string write_report(const std::string& out_dir, const nlohmann::json& metrics, const EvalContext& ctx,
                         const HarnessResult& result);

// The HTML alone (tests render it).
std::string render_html(const nlohmann::json& metrics, const EvalContext& ctx, const HarnessResult& result);

// A short plain-text results table (the demo prints it).
std::string results_table(const nlohmann::json& metrics);

}  // namespace rslicer::eval
