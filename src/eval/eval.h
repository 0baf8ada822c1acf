// `rslicer eval`: read a dataset once (with the baselines' raw tables), then
// for every fold of the split train the encoder on the fold's training part
// (or use a given model), embed every slice with it and with an untrained
// encoder, and run every method of eval/methods.h on the fold; pool, score
// and write the report folder (metrics.json, report.html).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset/split.h"
#include "eval/methods.h"
#include "eval/scores.h"
#include "ingest/source.h"
#include "train/trainer.h"

namespace rslicer::eval {

struct EvalRequest {
  std::string data_path;            // dataset folder
  std::string format = "auto";      // reader format
  ReadOptions read;                 // reader options
  std::string model_dir;            // a trained model; empty = train one per fold on the fold's training part
  std::string split = "time";       // "time", "time-per-day" or "leave-one-day-out"
  std::string out_dir;              // report folder (created)
  TrainConfig config;               // encoder, losses, features, slicing, heads, seed (ignored with model_dir)
  bool raw_backbone = true;         // also evaluate the untrained encoder
  std::vector<std::string> methods; // the methods to run (empty: all; eval/methods.h lists them)
  bool progress = true;             // progress on stderr
  EvalOptions options;              // baselines and scoring
};

struct ProjectionPoint {
  float x = 0, y = 0;
  std::string label;                // fault type or "normal"
  bool test = false;
};

struct EvalResult {
  CaseSplit split;
  std::vector<MethodResult> runs;   // pooled over folds, in methods() order (ours first)
  std::vector<MethodScores> scores; // aligned with runs
  std::vector<size_t> train_cases, test_cases;  // test: pooled over folds; train: distinct, index order
  std::vector<FaultEvent> faults;
  std::map<std::string, std::vector<ProjectionPoint>> projection;  // by representation (first fold)
  nlohmann::json partition;         // our runtime states (first fold)
  nlohmann::json config;            // what metrics.json records under "config"
  nlohmann::json metrics;           // metrics.json
  std::string ad_view;              // "all", "metrics" or "metrics+traces"
  double stride_s = 60;
  std::string report_html;          // path of report.html
  double seconds = 0;

  const MethodScores* find(const std::string& name) const;
};

EvalResult run_eval(const EvalRequest& request);

// The fold x method loop over embeddings that exist already (run_eval trains
// and embeds, then calls this; tests call it with generated embeddings):
// `trained(fold index)` gives our representation of that fold, `untrained`
// the raw backbone's (null: not evaluated). Fills res.split's pooled cases,
// runs, scores, projection and partition; not config, metrics or the report.
void evaluate(const EvalData& data, const std::vector<Method>& methods,
              const std::function<Representation(size_t fold)>& trained, const Representation* untrained,
              const HeadOptions& heads, std::uint64_t seed, const EvalOptions& options, EvalResult& res,
              bool progress = false);

// metrics.json from typed results (ours at the top, the rest under baselines / ablation).
nlohmann::json metrics_json(const EvalResult& r);

// 2-D PCA of rows (power iteration, deterministic).
std::vector<std::pair<float, float>> pca_2d(const std::vector<std::vector<float>>& rows);

}  // namespace rslicer::eval
