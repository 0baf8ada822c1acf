// Scores of one method's pooled predictions (docs/evaluation.md): the
// published protocol and the honest metrics beside it, per fault type, with
// 95 % bootstrap intervals. Typed: the report, the demo table and
// metrics.json (to_json) all read these structs.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/methods.h"
#include "eval/metrics.h"

namespace rslicer::eval {

// A method's predictions pooled over the folds (AD points in time order).
struct MethodResult {
  std::string name, family, note;
  std::optional<AdRun> ad;
  std::optional<FtRun> ft;
  std::optional<RclRun> rcl;
  nlohmann::json fold_info = nlohmann::json::array();
};

struct AdScores {
  EventResult event;        // published: decision points inside the test case windows only
  EventResult event_full;   // the same rule on the whole test timeline
  PointResult point;        // honest, per slice
  double auroc = std::numeric_limits<double>::quiet_NaN();  // of the AD score over the test slices (scores.cc)
  std::map<std::string, double> event_recall_by_type, point_recall_by_type;
  // where the AD score has parts (ours): each part's own AUROC over the test slices, by kAdPartKeys
  std::map<std::string, double> part_auroc;
};

struct RclScores {
  RclResult exact;          // exact entity matching
  RclResult service;        // pods mapped to their service
  std::map<std::string, std::pair<RclResult, size_t>> by_type;  // fault type -> (AC@k, cases)
};

struct MethodScores {
  std::string name, family, note;
  std::optional<AdScores> ad;
  std::optional<TriageResult> ft;
  std::optional<RclScores> rcl;
  std::map<std::string, Interval95> ci95;  // "ad.point.f1", "ad.event.recall", "ft.f1", "rcl.ac@1", "rcl.ac@3", "rcl.avg@5"
  nlohmann::json fold_info;
};

MethodScores score(const MethodResult& r, const EvalData& data, const std::vector<size_t>& test_cases,
                   const EvalOptions& options, std::uint64_t seed);

// The metrics.json layout of one method ({"ad", "ft", "rcl", "ci95", "family", "note", "fold_info"}).
nlohmann::json to_json(const MethodScores& s);

}  // namespace rslicer::eval
