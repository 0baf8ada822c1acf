// The methods `rslicer eval` compares, each a name plus a function over the
// same prepared fold: ours (the state-aware heads of tune/heads.h on the
// trained encoder), the K = 1 ablation, the untrained encoder through the
// same heads, and the baselines. One fold x method loop (eval/eval.cc) runs
// them all; adding a baseline means adding one entry to methods().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "dataset/split.h"
#include "eval/metrics.h"
#include "slice/embedding.h"
#include "features/features.h"
#include "tasks/raw_metrics.h"
#include "tasks/trace_evidence.h"
#include "tune/heads.h"

namespace rslicer::eval {

// Options of the methods and of scoring (the heads' own options come from the model config).
struct EvalOptions {
  SpotOptions spot;                 // SPOT of the spot_raw baseline (ours uses heads.spot)
  RawScoreOptions raw;              // BARO / N-sigma / raw SPOT normal period
  double ft_reference_s = 600;      // knn_raw: the raw case vector's reference period
  double rcl_reference_s = 3600;    // BARO / N-sigma: normal period [t - this, t)
  double rcl_rel_scale_floor = 0.1; // BARO IQR / N-sigma std floor as a share of the normal level
  double case_lead_s = 59;          // published case window [t - 59 s, t + 300 s)
  double case_tail_s = 300;
  std::int32_t bootstrap_samples = 1000;  // 95 % percentile bootstrap
  std::string root_cause_kind = "pod";    // entity kind the baselines rank ("" = all)
  double rcl_horizon_s = 0;               // root cause: only slices ending by t + this (0: the labelled window)
  static const config::Schema<EvalOptions>& schema();
};

// One representation of every slice (aligned with the dataset's slices).
struct Representation {
  std::string name;
  std::vector<SliceEmbedding> slices;
  std::vector<SliceEmbedding> ad_view;  // empty: the same as `slices`
  const std::vector<SliceEmbedding>& ad() const { return ad_view.empty() ? slices : ad_view; }
};

// What every fold shares.
struct EvalData {
  std::vector<FaultEvent> faults;
  EntityDirectory entities;
  const MetricTable* metrics = nullptr;   // null: raw baselines are skipped
  const TraceTable* traces = nullptr;
  double stride_s = 60;
  std::vector<TimeRange> windows;                       // every slice's [start, end)
  std::vector<std::vector<std::uint32_t>> slice_faults;  // every slice's labelled faults
  std::vector<double> raw_scores;                       // spot_raw's score of every slice (empty without metrics)
  const std::vector<FeatureSlice>* features = nullptr;  // the feature tokens (event_rules; null: skipped)
  const Catalog* catalog = nullptr;                     // names of the tokens' entities
  const std::vector<std::vector<EventDeviation>>* deviations = nullptr;  // per slice (event_rules, evidence)
  const std::unordered_map<std::uint64_t, std::string>* event_names = nullptr;  // event and log-step names
  const std::vector<std::string>* kpi_slots = nullptr;                          // KPI name of each metric slot
  double kpi_z_clip = 0;                                                        // FeatureOptions::z_clip
  std::string ad_view = "all";  // the AD view; other than "all", the AD event score sees only its modalities
};

// One fold as the methods see it.
struct FoldContext {
  const EvalData* data = nullptr;
  const SplitFold* fold = nullptr;
  std::vector<size_t> train, test;                      // slices inside the fold's ranges, time order
  std::map<size_t, std::vector<size_t>> case_slices;    // fault -> slices overlapping it
  const Representation* trained = nullptr;              // our encoder, trained on this fold's training part (null:
                                                        // no method that needs it was asked for)
  const Representation* untrained = nullptr;            // the untrained encoder (null: not evaluated)
  HeadOptions heads;                                    // the model's head options
  std::uint64_t seed = 1234;
  EvalOptions options;
};

// Per-method predictions of one fold (or pooled over folds).
struct AdRun {
  std::vector<AlarmPoint> points;        // one per test slice
  std::vector<double> scores, thresholds;
  std::vector<int> states;
  std::vector<std::vector<std::uint32_t>> point_faults;
  // per point, where the method's AD score has parts (ours): each part's own score (AnomalyTimeline::part_scores);
  // empty for other methods
  std::vector<std::array<double, 4>> part_scores;
};
struct FtRun {
  std::vector<size_t> cases;
  std::vector<std::string> truth, pred;
};
struct RclRun {
  std::vector<size_t> cases;
  std::vector<std::vector<RankedCause>> rankings;  // top 10, best first
  std::vector<int> rank_exact, rank_service;       // 1-based rank of the root cause, 0 = not ranked
};
struct MethodOutput {
  std::optional<AdRun> ad;
  std::optional<FtRun> ft;
  std::optional<RclRun> rcl;
  nlohmann::json info;                        // what the method chose on this fold
  std::optional<nlohmann::json> partition;    // its runtime states (ours)
};

struct Method {
  std::string name;
  std::string family;          // "ours", "ablation", "baseline", "sanity"
  std::string note;            // one line for the report
  std::function<MethodOutput(const FoldContext&)> run;
  bool needs_encoder = false;  // uses the trained representation
  bool uses_labels = false;    // learns from training labels (left out of the zero-label protocol)
};

// Every method, ours first. `with_untrained`: include raw_backbone.
std::vector<Method> methods(bool with_untrained);

// The methods to run: all of methods(with_untrained), or those named in
// `names` (InvalidInput for an unknown name); `zero_label` drops the ones that use labels.
std::vector<Method> select_methods(const std::vector<std::string>& names, bool with_untrained, bool zero_label);

}  // namespace rslicer::eval
