// The evaluation harness: runs our state-aware heads, the ablation (one
// global head) and every baseline on the same slices, cases and splits, then
// scores them with the published and the honest metrics. Torch-free: the
// embeddings come in as SliceEmbeddings (eval/experiment.h produces them with
// a trained and an untrained encoder), so it is testable with generated data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/metrics.h"
#include "dataset/split.h"
#include "slice/embedding.h"
#include "tasks/anomaly.h"
#include "tasks/raw_metrics.h"
#include "tasks/rootcause.h"
#include "tasks/spot.h"
#include "tasks/trace_evidence.h"
#include "tasks/triage.h"
#include "tune/state_partition.h"

namespace rslicer::eval {

struct HarnessOptions {
  PartitionOptions partition;     // k-means of runtime states (on training slices only)
  AnomalyOptions ad;              // kNN anomaly head
  SpotOptions spot;               // SPOT threshold (published: q = 0.1, level = 0.95)
  TriageOptions ft;               // kNN triage head (k, distance); features chosen by leave-one-out on training cases
  EmbeddingRcaOptions rcl;        // embedding root cause head
  RawScoreOptions raw;            // BARO / N-sigma / raw SPOT normal period
  double ft_reference_s = 600;    // triage: the case vector is the case-window mean minus the mean of [t - this, t - 60 s)
  double rcl_reference_s = 3600;  // RCL: entity profiles from [t - this, t - 60 s) (unlabelled, before the case)
  double rcl_rel_scale_floor = 0.1;  // BARO IQR / N-sigma std floor as a share of the normal level (fixed a priori)
  bool rcl_metric_evidence = true;   // our RCL head may also use each pod's robust metric deviation (BARO score)
  bool rcl_trace_evidence = true;    // ... and each pod's span self time / error / log evidence (ctx.traces)
  double case_lead_s = 59;        // published case window [t - 59 s, t + 300 s)
  double case_tail_s = 300;
  int bootstrap_samples = 1000;   // 95 % percentile bootstrap
  std::uint64_t seed = 1234;      // bootstrap and k-means
  std::string root_cause_kind = "pod";  // entity kind ranked by RCL ("" = all)
};

// One representation of the slices (all aligned: slice i is the same window
// in every representation).
struct Representation {
  std::string name;                      // "rslicer" (trained encoder) or "raw_backbone" (untrained)
  std::vector<SliceEmbedding> slices;    // every slice of the dataset, in time order
  std::vector<SliceEmbedding> ad_view;   // embeddings used for anomaly detection (empty = `slices`)
  std::string ad_view_name = "all modalities";
};

struct FoldInput {
  const SplitFold* fold = nullptr;
  std::vector<Representation> reps;      // reps[0] is our trained model
};

struct EvalContext {
  std::vector<FaultEvent> faults;
  std::vector<std::string> entity_names;     // by catalog Id of the embeddings
  std::vector<std::string> entity_kinds;     // "pod", "service", ...
  std::vector<std::string> entity_services;  // owning service name ("" for services)
  const MetricTable* raw = nullptr;          // raw metrics for the baselines (null: raw baselines skipped)
  const TraceTable* traces = nullptr;        // per-pod span / log evidence for our RCL head (null: not used)
  double stride_s = 60;                      // slice stride
};

// Per-method predictions, pooled over folds.
struct MethodRun {
  std::string name;
  std::string family;        // "ours", "ablation", "baseline", "sanity"
  std::string note;          // one line for the report
  bool has_ad = false, has_ft = false, has_rcl = false;
  // AD over the test timeline (sorted by time)
  std::vector<AlarmPoint> points;
  std::vector<double> scores, thresholds;
  std::vector<int> states;
  std::vector<std::vector<std::uint32_t>> point_faults;
  // FT per test case
  std::vector<size_t> ft_cases;
  std::vector<std::string> ft_truth, ft_pred;
  // RCL per test case
  std::vector<size_t> rcl_cases;
  std::vector<std::vector<EntityScore>> rankings;
  std::vector<int> rank_exact, rank_service;
  nlohmann::json info;       // chosen options, K, thresholds per fold
};

struct ProjectionPoint {
  float x = 0, y = 0;
  std::string label;         // fault type or "normal"
  bool test = false;
};

struct HarnessResult {
  std::vector<MethodRun> runs;
  std::vector<size_t> test_cases, train_cases;        // pooled
  std::map<std::string, std::vector<ProjectionPoint>> projection;  // by representation name (first fold)
  nlohmann::json partition;                           // states of the main model (first fold)
};

HarnessResult run_harness(const EvalContext& ctx, const std::vector<FoldInput>& folds, const HarnessOptions& options);

// Scores every run; the JSON has the metrics.json layout (without config/split).
nlohmann::json score_runs(const EvalContext& ctx, const HarnessResult& result, const HarnessOptions& options);

// 2-D PCA of rows (power iteration, deterministic).
std::vector<std::pair<float, float>> pca_2d(const std::vector<std::vector<float>>& rows);

}  // namespace rslicer::eval
