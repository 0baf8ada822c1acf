// Unified Runtime Contrastive Learning: the trainer, its configuration, and
// the model folder (EmbeddingModel) that `rslicer train` writes and `rslicer
// embed` / `rslicer eval` load.
//
// Model folder layout (format_version 1):
//   manifest.json   {"format_version": 1, "files": {"<name>": {"bytes": N, "crc32": "xxxxxxxx"}}}
//   config.json     the full TrainConfig (encoder, losses, features, slicing, sources, split)
//   weights.pt      encoder state dict (torch::serialize archive)
//   features.json   FeatureState (KPI slots, key names, feature options)
//   drain.json      Drain template miner state
//   train_log.json  per-epoch losses, timings, best epoch
// Every file listed is checked against the manifest on load; a missing,
// truncated or altered file, or another format_version, is a ModelError.
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

namespace rslicer {

constexpr int kModelFormatVersion = 1;

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
  static const config::Schema<TrainConfig>& schema();
};
// Reads a JSON file over `base` (config::from_json: an unknown key at any
// level is an InvalidInput naming it, "unknown key 'loss.tauu' in config");
// IoError when the file cannot be read. Messages name the file.
TrainConfig load_train_config(const std::string& path, const TrainConfig& base = {});

// A trained or untrained encoder plus everything needed to featurise new data
// the same way (feature state, Drain templates, slicing options).
class EmbeddingModel {
 public:
  // Loads and verifies a model folder; ModelError on any problem.
  static std::unique_ptr<EmbeddingModel> load(const std::string& dir);
  // A freshly initialised (untrained) model of the configured size, seeded
  // with config.seed; `data` provides the feature state and templates.
  static std::unique_ptr<EmbeddingModel> untrained(const TrainConfig& config, const Dataset& data);

  void save(const std::string& dir, const nlohmann::json& train_log = {}) const;

  // Options for prepare that reproduce the model's features on new data.
  PrepareOptions prepare_options(const ReadOptions& read = {}, bool progress = true) const;
  // One embedding per slice, in order (eval mode, no grad). Sets
  // at::set_num_threads(config().threads).
  std::vector<SliceEmbedding> embed(const std::vector<FeatureSlice>& slices, bool progress = false) const;

  const TrainConfig& config() const { return config_; }
  RuntimeEncoder& encoder() const { return *encoder_; }
  const FeatureState& feature_state() const { return features_; }
  const nlohmann::json& drain_state() const { return drain_; }

  EmbeddingModel(TrainConfig config, std::shared_ptr<RuntimeEncoder> encoder, FeatureState features,
                 nlohmann::json drain);

 private:
  TrainConfig config_;
  std::shared_ptr<RuntimeEncoder> encoder_;
  FeatureState features_;
  nlohmann::json drain_;
};

// Prepared training data of one source and which of its slices to use.
struct TrainingSet {
  const Dataset* data = nullptr;
  std::vector<size_t> train;        // slice indices used for gradient steps
  std::vector<size_t> validation;   // slice indices for early stopping
  double ratio = 1.0;               // share of batches
};

struct TrainOptions {
  std::string out_dir;              // model folder (created); checkpoints go to out_dir/checkpoint
  bool resume = false;              // continue from out_dir/checkpoint after an interruption
  bool progress = true;             // progress bar with loss terms and slices/s
};

struct TrainResult {
  std::int32_t epochs = 0;          // epochs run (including resumed ones)
  std::int32_t best_epoch = 0;      // epoch of the saved weights
  double best_validation_loss = 0;
  double seconds = 0;               // wall time of this call
  double slices_per_s = 0;          // training throughput
  std::int64_t model_bytes = 0;     // size of the model folder
  nlohmann::json log;               // per-epoch history (also train_log.json)
};

// Trains on already prepared sets (the first set's feature state and Drain
// state are saved with the model) and writes the model folder.
TrainResult train_encoder(const TrainConfig& config, const std::vector<TrainingSet>& sets,
                          const TrainOptions& options);

// The `rslicer train` path: prepares config.sources (or `data_path` when the
// config lists none), applies config.split (train + validation parts only,
// never the test part), trains and saves.
TrainResult train_from_sources(const TrainConfig& config, const std::string& data_path, const std::string& format,
                               const TrainOptions& options);

}  // namespace rslicer
