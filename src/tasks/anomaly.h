// Anomaly detection head on state embeddings: the score of a slice is its
// mean distance to the k nearest NORMAL training slices of the same runtime
// state (StatePartition::assign), divided by that state's typical normal
// score (median leave-one-out score of its training normals), so one
// threshold fits every state. state_aware = false uses one global reference
// set (the ablation row). The threshold comes from SPOT on training scores.
// With `whiten`, distances are Mahalanobis under the normal references'
// covariance: a fault moves the embedding along directions that vary little
// in normal operation, which the plain distance weighs least.
//
// Data layout: reference i is refs[i * dim .. (i + 1) * dim).
// States are small non-negative ints (StatePartition's; at most kMaxAnomalyStates).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/time.h"

namespace rslicer {

constexpr int kMaxAnomalyStates = 1 << 16;
inline bool valid_anomaly_state(int s) { return s >= 0 && s < kMaxAnomalyStates; }

struct AnomalyOptions {
  int neighbors = 5;               // k of the kNN distance
  bool state_aware = true;         // references and scale per state; false = one global set
  int min_state_refs = 10;         // a state with fewer normal references falls back to the global set
  // references whose start lies closer than this to the scored slice are skipped (no self/overlap match)
  double exclusion_s = 180;
  // ... when a normal training slice calibrates the score (the head's scale per state, the SPOT threshold): its
  // neighbours minutes apart are closer than anything a new slice meets, so they are skipped too (where fewer
  // than `neighbors` references lie farther, the nearer ones farthest in time fill up)
  double calibration_exclusion_s = 3600;
  // a stream's kNN also takes, as normal references, the slices it scored that no AD part alarmed on, once the
  // stream is online_delay_s past them (a fault's early, quiet slices stay out while it develops): normal time
  // after training (a later hour's traffic) then has references of its own (FailureHeads::detect)
  bool online = true;
  double online_delay_s = 1800;
  int online_max = 2880;  // at most this many such references (two days of one-minute slices), the oldest dropped
                          // first; the training references stay
  // Mahalanobis distance under the covariance of the normal references (with a ridge of whiten_ridge times their
  // mean variance); used with at least 10 references per dimension (below that the covariance of the smallest
  // directions is underestimated and new normal slices look far), else plain Euclidean
  bool whiten = false;  // off: it costs point F1 on TrainTicket's days (docs/results.md, session 34)
  double whiten_ridge = 1e-6;
  static const config::Schema<AnomalyOptions>& schema();
};

// Float vectors in saved JSON (heads.json, a stream's stored kNN state): a base64 string of the float32 values
// (core/base64.h: about 5.3 characters a value instead of about 21 as decimals); arrays of numbers, as models
// saved before 2026-12-08 hold, are read too. floats_from_json throws ModelError naming `what` otherwise.
nlohmann::json floats_to_json(const std::vector<float>& v);
std::vector<float> floats_from_json(const nlohmann::json& j, const char* what);

class KnnAnomalyHead {
 public:
  explicit KnnAnomalyHead(AnomalyOptions options = {}) : options_(options) { AnomalyOptions::schema().validate(options_); }
  // Normal training slices: vectors [n * dim], their start times and states.
  void fit(const std::vector<float>& refs, int dim, const std::vector<TimeUs>& times, const std::vector<int>& states);
  // Calibrated score of one slice (1 = typical normal of its state); `calibrating`: the slice is one of the normal
  // training slices and calibrates a threshold (AnomalyOptions::calibration_exclusion_s).
  double score(const float* x, int state, TimeUs time, bool calibrating = false) const;
  double raw_score(const float* x, int state, TimeUs time, bool calibrating = false) const;  // uncalibrated
  // One more normal reference (AnomalyOptions::online): the state scales stay those of fit(); past online_max
  // added ones the oldest added one goes.
  void add_reference(const float* x, int state, TimeUs time);
  size_t added_references() const { return added_; }
  // The added references (vectors, times, states) with the fingerprint of the fitted ones, to carry a stream's
  // across a restart; add_added() takes them back, all or none: ModelError on a malformed object or one written
  // by a head with other fitted references (another model).
  nlohmann::json added_to_json() const;
  void add_added(const nlohmann::json& j);
  std::uint64_t fingerprint() const { return fingerprint_; }  // of the fitted references (stable across versions)
  int dim() const { return dim_; }
  size_t references() const { return times_.size(); }
  bool whitened() const { return !whitening_.empty(); }  // whether distances are Mahalanobis (AnomalyOptions::whiten)

  nlohmann::json to_json() const;  // references, times, states and calibration
  static KnnAnomalyHead from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  const std::vector<std::int64_t>& refs_for(int state) const;
  void fit_whitening();                           // from refs_ (options_.whiten); fills whitening_, mean_, search_refs_
  void whiten(const float* x, float* out) const;  // out = L^-1 (x - mean), C = L L^T
  void index_states();                            // by_state_ and all_ from states_
  void append(const float* x, int state, TimeUs time);  // add_reference without index_states
  AnomalyOptions options_;
  int dim_ = 0;
  std::vector<float> refs_;
  std::vector<double> mean_, whitening_;  // whitening_: L^-1 row-major [dim * dim]; empty: no whitening
  std::vector<float> search_refs_;        // refs_ whitened (empty when not whitening: the search reads refs_)
  std::vector<TimeUs> times_;
  std::vector<int> states_;
  std::vector<std::vector<std::int64_t>> by_state_;
  std::vector<std::int64_t> all_;
  std::vector<double> scale_;   // per state
  double global_scale_ = 1;
  void set_fitted();   // fitted_ and fingerprint_ from refs_ (before anything is added)
  size_t fitted_ = 0;  // references from fit(); those after them were added (add_reference)
  std::uint64_t fingerprint_ = 0;
  size_t added_ = 0;
};

}  // namespace rslicer
