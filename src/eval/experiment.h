// End-to-end evaluation: read a dataset, train the encoder on each fold's
// training part (or load a given model), embed every slice with the trained
// and an untrained encoder, run the harness (our heads, the ablation and the
// baselines) and write the report folder (metrics.json, report.html).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/harness.h"

#include "train/trainer.h"

namespace rslicer::eval {

struct ExperimentOptions {
  std::string data_path;            // dataset folder
  std::string format = "auto";      // reader format
  std::string model_dir;            // trained model; empty = train one per fold on the fold's training part
  std::string split = "time";       // "time", "time-per-day" or "leave-one-day-out"
  std::string out_dir;              // report folder (created)
  std::string ad_view = "auto";     // AD embeddings: "all", "metrics" (traces/logs masked), "auto" = metrics when traces cover < 50 % of slices
  std::string config_path;          // optional TrainConfig JSON (encoder, losses, budget)
  double train_minutes = 4.0;       // training budget per fold when the config file does not set max_minutes
  bool raw_backbone = true;         // also evaluate the untrained encoder
  bool progress = true;             // progress on stderr
  HarnessOptions harness;           // heads, SPOT, bootstrap
};

struct ExperimentResult {
  nlohmann::json metrics;           // what metrics.json holds
  std::string report_html;          // path of report.html
  double seconds = 0;
};

ExperimentResult run_experiment(const ExperimentOptions& options);

}  // namespace rslicer::eval
