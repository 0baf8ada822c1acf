// A model: the trained encoder, everything needed to featurise new data the
// same way (feature state, Drain templates, slicing options) and the fitted
// state-aware heads. `rslicer train` writes it, `detect`, `embed`, `eval`
// and `serve` load it.
//
// Model folder layout (format_version 2):
//   manifest.json   {"format_version": 2, "files": {"<name>": {"bytes": N, "crc32": "xxxxxxxx"}}}
//   config.json     the full TrainConfig (encoder, losses, features, slicing, split, sources, heads)
//   weights.pt      encoder state dict (torch::serialize archive)
//   features.json   FeatureState (KPI slots, key names, feature options)
//   drain.json      Drain template miner state
//   heads.json      FailureHeads (state partitions, AD references and SPOT state, triage and root-cause heads)
//                   and the AD view they were fitted on; absent for an encoder without heads
//   profile.json    the normal event profile of the training data (features/events.h), added to the profile of
//                   data the model featurises; absent when the training data had no traces or logs
//   calibration.json  the zero-label ranker's calibration rows of the training data (tasks/zero_label.h,
//                   CalibrationArchive, thinned to kSavedCalibrationRows): `detect` and `serve` rank new data
//                   against them and the new data's own, so that a short file or a stream's first hour can reach
//                   the surprises the heads' thresholds were fitted on; absent in models saved before 2026-12-07
//   train_log.json  per-epoch losses, timings, best epoch, what the heads chose
// Every file listed is checked against the manifest on load; a missing,
// truncated or altered file, or another format_version, is a ModelError.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset/dataset.h"
#include "model/runtime_encoder.h"
#include "slice/embedding.h"
#include "tasks/zero_label.h"
#include "train/trainer.h"
#include "tune/heads.h"

namespace rslicer {

class EmbeddingModel {
 public:
  // Loads and verifies a model folder; ModelError on any problem.
  static std::unique_ptr<EmbeddingModel> load(const std::string& dir);
  // A freshly initialised (untrained) encoder of the configured size, seeded
  // with config.seed; `data` provides the feature state and templates.
  static std::unique_ptr<EmbeddingModel> untrained(const TrainConfig& config, const Dataset& data);

  EmbeddingModel(TrainConfig config, std::shared_ptr<RuntimeEncoder> encoder, FeatureState features,
                 nlohmann::json drain);

  // Writes the model folder (atomically per file, with the manifest).
  void save(const std::string& dir, const nlohmann::json& train_log = {}) const;

  // Options for dataset::prepare that reproduce the model's features on new data.
  PrepareOptions prepare_options(const ReadOptions& read = {}, bool progress = true) const;
  // One embedding per slice, in order (eval mode, no grad). Sets set_compute_threads(config().threads): torch's
  // and OpenBLAS's threads (the online pipeline embeds one small slice at a time, where OpenBLAS's own pool only
  // spun in sched_yield and took the core the HTTP decoders need: serve_bench 97k -> 122k records/s).
  std::vector<SliceEmbedding> embed(const std::vector<FeatureSlice>& slices, bool progress = false) const;
  // The embeddings of the slices as an AD view sees them (ad_view_of): the same as embed() for "all".
  std::vector<SliceEmbedding> embed_view(const std::vector<FeatureSlice>& slices, const std::string& view,
                                         bool progress = false) const;
  // embed_view() with this model's AD view (ad_view()).
  std::vector<SliceEmbedding> embed_ad_view(const std::vector<FeatureSlice>& slices, bool progress = false) const {
    return embed_view(slices, ad_view_, progress);
  }

  const TrainConfig& config() const { return config_; }
  RuntimeEncoder& encoder() const { return *encoder_; }
  const FeatureState& feature_state() const { return features_; }
  const nlohmann::json& drain_state() const { return drain_; }

  // The fitted heads (absent for an encoder trained without them).
  bool has_heads() const { return heads_.has_value(); }
  const FailureHeads& heads() const;
  const std::string& ad_view() const { return ad_view_; }  // "all", "metrics" or "metrics+traces"
  void set_heads(FailureHeads heads, std::string ad_view);
  // The training data's event profile (the prior of every dataset the model featurises).
  const EventProfile& profile() const { return profile_; }
  void set_profile(EventProfile profile) { profile_ = std::move(profile); }
  // The training data's ranker calibration (nullptr for models saved without one).
  const CalibrationArchive* calibration() const { return calibration_ ? &*calibration_ : nullptr; }
  void set_calibration(CalibrationArchive c) { calibration_ = std::move(c); }

 private:
  TrainConfig config_;
  std::shared_ptr<RuntimeEncoder> encoder_;
  FeatureState features_;
  nlohmann::json drain_;
  std::optional<FailureHeads> heads_;
  std::string ad_view_ = "all";
  EventProfile profile_;
  std::optional<CalibrationArchive> calibration_;
};

// Calibration rows a model keeps of its training data (a surprise up to log10 of it, 4.3; thinned evenly beyond).
inline constexpr double kSavedCalibrationRows = 20000;

// The AD view a config asks for on data with this trace/log coverage:
// config.ad_view, or for "auto" metrics when coverage < 0.5.
std::string resolve_ad_view(const std::string& ad_view, double trace_log_coverage);

// Total size of the regular files in a folder.
std::int64_t folder_bytes(const std::string& dir);

}  // namespace rslicer
