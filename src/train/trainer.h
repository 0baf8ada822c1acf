// Unified Runtime Contrastive Learning: the trainer and the configuration of
// a model (encoder, losses, features, slicing, split, sources, heads). The
// model folder that `rslicer train` writes is api/model.h's.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/runtime_encoder.h"
#include "slice/embedding.h"
#include "train/losses.h"
#include "dataset/dataset.h"
#include "dataset/split.h"
#include "tune/heads.h"

namespace rslicer {

constexpr int kModelFormatVersion = 2;  // 2: heads.json and config.heads (issue 10)

// One training source, mixed by `ratio` (share of each batch's runs).
struct SourceSpec {
  std::string type = "dataset";     // "dataset" (a folder read by open_source) or "simulator"
  std::string path;                 // dataset path (type dataset)
  std::string format = "auto";      // reader format (type dataset)
  double ratio = 1.0;               // relative share of training batches
  nlohmann::json simulator;         // SimConfig overrides (type simulator)
  static const config::Schema<SourceSpec>& schema();
};

struct TrainConfig {
  EncoderConfig encoder;            // architecture
  LossConfig loss;                  // URCL loss terms and weights
  FeatureOptions features;          // feature extraction
  SliceOptions slice;               // window length / stride
  SplitSpec split;                  // time-ordered train / validation / test rule
  std::vector<SourceSpec> sources;  // training sources; empty: the --data folder
  std::uint64_t seed = 1234;        // torch::manual_seed and batch sampling
  std::int32_t threads = 1;         // at::set_num_threads; 1 is fastest for this small model (2+ threads spin and lose badly on a busy 2-core machine)
  std::int32_t max_epochs = 40;     // upper bound on epochs
  std::int32_t steps_per_epoch = 0; // 0: about (training slices / batch size) steps
  std::int32_t batch_runs = 8;      // runs of consecutive slices per batch (temporal neighbours for L_temp)
  std::int32_t run_len = 4;         // slices per run (overlapping windows when stride < window)
  double lr = 2e-3;                 // AdamW peak learning rate
  double weight_decay = 1e-2;       // AdamW weight decay
  double warmup_fraction = 0.05;    // linear warm-up share of all steps, then cosine decay to lr * min_lr_ratio
  double min_lr_ratio = 0.05;       // final learning rate / peak
  double grad_clip = 1.0;           // max global gradient norm
  std::int32_t patience = 6;        // early stopping: epochs without validation improvement
  double min_delta = 1e-4;          // improvement smaller than this does not count
  double max_minutes = 9.0;         // wall-clock budget for reading the training data and training the encoder
                                    // (0 = none; TrainBudget below); the heads are fitted after it
  bool weak_labels = false;         // use fault labels of the training part for L_anom (off: on three held-out
                                    // simulated systems it lowered AD and triage and never helped root cause,
                                    // docs/results.md "Weak labels and the root-cause head choice")
  std::int64_t embed_batch = 8;     // batch size when embedding (slices of similar length together; small
                                    // batches keep attention's [B, H, T, T] in cache: 1,455 slices/s on
                                    // TrainTicket at 8, 895 at 32, 414 at 256, docs/performance.md)
  HeadOptions heads;                // the state-aware heads fitted after the encoder
  std::string ad_view = "auto";     // AD embeddings: all, metrics (traces/logs masked), metrics+traces (logs
                                    // masked), auto = metrics when traces/logs cover under half of the training
                                    // slices, else all
  static const config::Schema<TrainConfig>& schema();
};
// Reads a JSON file over `base` (config::from_json: an unknown key at any
// level is an InvalidInput naming it, "unknown key 'loss.tauu' in config");
// IoError when the file cannot be read. Messages name the file.
TrainConfig load_train_config(const std::string& path, const TrainConfig& base = {});

// Prepared training data of one source and which of its slices to use.
struct TrainingSet {
  const Dataset* data = nullptr;
  std::vector<size_t> train;        // slice indices used for gradient steps
  std::vector<size_t> validation;   // slice indices for early stopping
  double ratio = 1.0;               // share of batches
  bool entity_labels = false;       // its fault labels teach L_entity (which entity is the root cause): train and
                                    // eval set it for the simulator's controlled injection only
};

struct TrainOptions {
  std::string out_dir;              // folder (created); checkpoints go to out_dir/checkpoint
  bool resume = false;              // continue from out_dir/checkpoint after an interruption
  bool progress = true;             // progress bar with loss terms and slices/s
  double spent_s = 0;               // seconds this run already spent before train_encoder (reading, simulating):
                                    // they count against max_minutes
  // Called after each epoch's checkpoint with the number of epochs done so far (resumed ones included); true
  // ends training there as an interruption would (tests; a caller's own stop condition).
  std::function<bool(int epochs_done)> stop_after_epoch;
};

// The wall-clock budget (max_minutes) as a cap, not a check after the fact: an epoch starts only when the
// longest epoch so far (its training steps and its validation) still fits in what is left, and a running
// epoch is cut short after the step at which the time spent plus one validation would pass the budget. An
// epoch cut short counts as done: its checkpoint is saved, and a resume goes on with the next epoch. A run
// always takes at least one step, so a budget spent by reading alone still yields a model.
struct TrainBudget {
  double budget_s = INFINITY;  // max_minutes * 60, or infinity for 0
  explicit TrainBudget(double max_minutes) : budget_s(max_minutes > 0 ? max_minutes * 60.0 : INFINITY) {}
  bool start_epoch(double spent_s, double longest_epoch_s) const { return spent_s + longest_epoch_s <= budget_s; }
  bool cut_epoch(double spent_s, double validation_s) const { return spent_s + validation_s > budget_s; }
};

struct TrainResult {
  std::int32_t epochs = 0;          // epochs run (including resumed ones)
  std::int32_t best_epoch = 0;      // epoch of the saved weights
  double best_validation_loss = 0;
  double seconds = 0;               // wall time of this call
  double slices_per_s = 0;          // training throughput
  nlohmann::json log;               // per-epoch history (saved as train_log.json)
  std::shared_ptr<RuntimeEncoder> encoder;  // the best epoch's weights, in eval mode
};

// Trains the encoder with URCL on already prepared sets; checkpoints go to
// options.out_dir/checkpoint after every epoch (resumable). Returns the best
// epoch's encoder; the model folder itself is written by api/ (model.h).
TrainResult train_encoder(const TrainConfig& config, const std::vector<TrainingSet>& sets,
                          const TrainOptions& options);

}  // namespace rslicer
