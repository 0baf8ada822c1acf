// Model folder and training checkpoint files: every file is listed in a
// manifest.json with its size and CRC-32, written atomically, and verified
// when read, so a truncated, altered or foreign file is a clear ModelError
// instead of garbage weights.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "train/trainer.h"

namespace rslicer {

// Writes files into `dir` (created) and, on finish(), manifest.json.
class ModelFolderWriter {
 public:
  explicit ModelFolderWriter(std::string dir);
  void add_bytes(const std::string& name, const std::string& bytes);
  void add_json(const std::string& name, const nlohmann::json& j);  // pretty-printed, sorted keys
  void add_module(const std::string& name, torch::nn::Module& module);  // torch::serialize archive
  void add_optimizer(const std::string& name, torch::optim::Optimizer& opt);
  void finish(const nlohmann::json& extra = {});  // writes manifest.json (format_version, files, extra)

 private:
  std::string dir_;
  nlohmann::json files_ = nlohmann::json::object();
};

// Opens a folder written by ModelFolderWriter and verifies the manifest's
// format_version and every listed file's size and CRC-32.
class ModelFolderReader {
 public:
  explicit ModelFolderReader(std::string dir);
  const nlohmann::json& manifest() const { return manifest_; }
  bool has(const std::string& name) const;
  std::string bytes(const std::string& name) const;
  nlohmann::json json(const std::string& name) const;
  void load_module(const std::string& name, torch::nn::Module& module) const;
  void load_optimizer(const std::string& name, torch::optim::Optimizer& opt) const;

 private:
  std::string path(const std::string& name) const;
  std::string dir_;
  nlohmann::json manifest_;
};

// CRC-32 (zlib) of a byte string, as 8 lower-case hex digits.
std::string crc32_hex(const std::string& bytes);

// Training state saved after every epoch (out_dir/checkpoint).
struct TrainCheckpoint {
  int epoch = -1;                   // last finished epoch (0-based)
  double best_validation_loss = 0;
  int best_epoch = -1;              // 0-based
  int bad_epochs = 0;
  nlohmann::json history;           // per-epoch log so far
  torch::Tensor prototype;          // EMA normal prototype (may be undefined)
  double seconds = 0;               // wall time spent so far
};

// Writes checkpoint/{weights.pt, optimizer.pt, best.pt, state.json}; best.pt
// is the current weights when `is_best`, else carried over. Atomic: written
// to a sibling folder, then renamed.
void save_checkpoint(const std::string& dir, const TrainConfig& config, torch::nn::Module& model,
                     torch::optim::Optimizer& opt, const TrainCheckpoint& state, bool is_best);
// Restores model, optimizer and state; ModelError when absent, corrupted or
// written for a different encoder configuration.
TrainCheckpoint load_checkpoint(const std::string& dir, const TrainConfig& config, torch::nn::Module& model,
                                torch::optim::Optimizer& opt);
void load_best_weights(const std::string& dir, torch::nn::Module& model);

}  // namespace rslicer
