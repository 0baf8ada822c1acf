// Unified Runtime Contrastive Learning: the trainer and the configuration of
// a model (encoder, losses, features, slicing, split, sources, heads). The
// model folder that `rslicer train` writes is api/model.h's.
#pragma once

#include <cstdint>
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
  double max_minutes = 9.0;         // wall-clock budget for training (0 = none); the best checkpoint is kept
  bool weak_labels = true;          // use fault labels of the training part for L_anom
  std::int64_t embed_batch = 256;   // batch size when embedding
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
