// Failure triage (fault-type classification) heads. A case is one vector
// (e.g. the mean embedding of the slices inside the case window, minus the
// pre-case reference). Two models:
//  - knn: distance-weighted votes of the k nearest training cases;
//    state_aware restricts neighbours to training cases of the same runtime
//    state when that state has any (the state-conditioned head), else all
//    training cases;
//  - logistic: multinomial logistic regression (softmax, L2 on the weights,
//    500 steps of full-batch gradient descent from zero, so deterministic);
//    with `cosine` every vector is first scaled to unit length, the
//    counterpart of the kNN's cosine distance. It ignores the states.
// choose_triage picks a model and its parameter by leave-one-case-out on the
// training cases. MajorityTriage is the trivial baseline.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace rslicer {

struct TriageOptions {
  int neighbors = 3;           // knn: k of the vote
  bool state_aware = true;     // knn: neighbours from the same state first
  bool cosine = true;          // knn: cosine distance (else Euclidean); logistic: unit-length vectors
  std::string model = "knn";   // knn | logistic
  double l2 = 0.01;            // logistic: L2 weight of the weights (not the biases)
  static const config::Schema<TriageOptions>& schema();
};

class TriageHead {
 public:
  explicit TriageHead(TriageOptions options = {}) : options_(options) { TriageOptions::schema().validate(options_); }
  void fit(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
           const std::vector<int>& states);
  std::string predict(const std::vector<float>& x, int state) const;
  // The predicted label and its confidence: knn, its share of the distance-weighted vote; logistic, its
  // probability.
  std::pair<std::string, double> predict_with_confidence(const std::vector<float>& x, int state) const;
  size_t cases() const { return x_.size(); }
  const TriageOptions& options() const { return options_; }

  nlohmann::json to_json() const;
  static TriageHead from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  void fit_logistic();
  std::vector<float> logistic_input(const std::vector<float>& x) const;

  TriageOptions options_;
  std::vector<std::vector<float>> x_;
  std::vector<std::string> labels_;
  std::vector<int> states_;
  // logistic: the classes (sorted) and the weights, (dims + 1) x classes, row-major, the bias row last
  std::vector<std::string> classes_;
  std::vector<double> weights_;
  size_t dims_ = 0;
};

// Leave-one-case-out accuracy of a TriageHead with `options` on labelled
// case vectors (0 with fewer than 2 cases): how triage heads choose their
// case-vector kind and model on training cases only.
double loo_accuracy(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
                    const std::vector<int>& states, const TriageOptions& options);

// The candidate with the best leave-one-case-out accuracy (the first of equals) and that accuracy
// (options {} and -1 without candidates).
struct TriageChoice {
  TriageOptions options;
  double accuracy = -1;
};
TriageChoice choose_triage(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
                           const std::vector<int>& states, const std::vector<TriageOptions>& candidates);

class MajorityTriage {
 public:
  void fit(const std::vector<std::string>& labels);  // ties: alphabetically first
  const std::string& predict() const { return label_; }

 private:
  std::string label_;
};

}  // namespace rslicer
