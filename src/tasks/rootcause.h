// Root cause localisation from per-entity embeddings (SliceEmbedding::
// entity_embeddings). Each entity's normal profile is the mean of its own
// embeddings over the reference slices (the normal period before the case,
// unlabelled), restricted to slices of the same runtime state as the scored
// slice when state_aware and enough exist. An entity's score is the largest,
// over the case slices, distance to its profile divided by its typical
// reference distance (a robust scale, like BARO's IQR, in embedding space).
#pragma once

#include <string>
#include <vector>

#include "slice/embedding.h"
#include "tasks/raw_metrics.h"

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace rslicer {

struct EmbeddingRcaOptions {
  bool state_aware = true;   // per-state normal profiles (falls back to all references when a state has too few)
  int min_state_refs = 3;    // references of an entity in a state needed to use that state's profile
  double scale_floor = 0.25; // scale floor as a share of the median scale over entities (no division blow-ups)
  std::string kind = "pod";  // rank only entities of this kind (empty = all)
  static const config::Schema<EmbeddingRcaOptions>& schema();
};

// The embeddings one root cause ranking looks at.
struct RcaInputs {
  std::vector<const SliceEmbedding*> case_slices;  // the case window
  std::vector<int> case_states;                    // their runtime states (parallel)
  std::vector<const SliceEmbedding*> ref_slices;   // the normal period
  std::vector<int> ref_states;                     // their runtime states (parallel)
  const std::vector<std::string>* entity_names = nullptr;  // indexed by catalog Id
  const std::vector<std::string>* entity_kinds = nullptr;  // indexed by catalog Id
};

// Exact entity matching of a ranked candidate with a labelled root cause: a
// pod/instance label matches that entity only; a service label matches the
// service or an entity whose service it is. No substring matching.
bool rcl_match(const std::string& candidate, const std::string& candidate_service, const std::string& label,
               const std::string& label_level);

// Returns entities sorted by decreasing score.
std::vector<EntityScore> rank_embedding(const RcaInputs& in, const EmbeddingRcaOptions& options);

// Per-entity deviation features of one case (same profiles as rank_embedding):
// [normalised distance, log(1 + distance), normalised signed deviation (entity_dim),
// case-window mean embedding (entity_dim)].
struct EntityFeatures {
  std::string entity;
  std::vector<float> x;
};
std::vector<EntityFeatures> entity_features(const RcaInputs& in, const EmbeddingRcaOptions& options);

struct LearnedRcaOptions {
  int epochs = 300;          // full-batch gradient steps
  double lr = 0.05;          // step size
  double l2 = 0.01;          // pull of the weights toward the unsupervised start (distance only)
  static const config::Schema<LearnedRcaOptions>& schema();
};

// A linear scorer w . features trained with a listwise softmax over the
// entities of each training case (the root cause is the target). It starts
// from the unsupervised ranking (weight 1 on the normalised distance) and is
// regularised toward it, so with few cases it stays close to it.
class LearnedRcaHead {
 public:
  explicit LearnedRcaHead(LearnedRcaOptions options = {}) : options_(options) { LearnedRcaOptions::schema().validate(options_); }
  // cases[c]: the entities' features; target[c]: index of the root cause in cases[c] (-1: case skipped).
  void fit(const std::vector<std::vector<EntityFeatures>>& cases, const std::vector<int>& target);
  std::vector<EntityScore> rank(const std::vector<EntityFeatures>& entities) const;
  bool fitted() const { return !w_.empty(); }
  const std::vector<double>& weights() const { return w_; }  // per standardised feature

  nlohmann::json to_json() const;
  static LearnedRcaHead from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  LearnedRcaOptions options_;
  std::vector<double> w_, w0_, mean_, sd_;
};

}  // namespace rslicer
