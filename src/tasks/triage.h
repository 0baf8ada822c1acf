// Failure triage (fault-type classification) heads. A case is one vector
// (e.g. the mean embedding of the slices inside the case window, minus the
// pre-case reference). kNN with distance-weighted votes; state_aware
// restricts neighbours to training cases of the same runtime state when that
// state has any (the state-conditioned head), else all training cases.
// MajorityTriage is the trivial baseline.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace rslicer {

struct TriageOptions {
  int neighbors = 3;          // k of the kNN vote
  bool state_aware = true;    // neighbours from the same state first
  bool cosine = true;         // cosine distance (else Euclidean)
  static const config::Schema<TriageOptions>& schema();
};

class KnnTriageHead {
 public:
  explicit KnnTriageHead(TriageOptions options = {}) : options_(options) { TriageOptions::schema().validate(options_); }
  void fit(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
           const std::vector<int>& states);
  std::string predict(const std::vector<float>& x, int state) const;
  // The predicted label and its share of the distance-weighted vote.
  std::pair<std::string, double> predict_with_confidence(const std::vector<float>& x, int state) const;
  size_t cases() const { return x_.size(); }

  nlohmann::json to_json() const;
  static KnnTriageHead from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  TriageOptions options_;
  std::vector<std::vector<float>> x_;
  std::vector<std::string> labels_;
  std::vector<int> states_;
};

// Leave-one-case-out accuracy of a KnnTriageHead with `options` on labelled
// case vectors (0 with fewer than 2 cases): how triage heads choose their
// case-vector kind and k on training cases only.
double loo_accuracy(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
                    const std::vector<int>& states, const TriageOptions& options);

class MajorityTriage {
 public:
  void fit(const std::vector<std::string>& labels);  // ties: alphabetically first
  const std::string& predict() const { return label_; }

 private:
  std::string label_;
};

}  // namespace rslicer
