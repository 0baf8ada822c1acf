#include "tasks/triage.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/errors.h"

namespace rslicer {

const config::Schema<TriageOptions>& TriageOptions::schema() {
  static const auto s =
      config::Schema<TriageOptions>("triage")
          .text("model", &TriageOptions::model,
                "knn (distance-weighted vote) or logistic (softmax regression); chosen by leave-one-out when tuned",
                {"knn", "logistic"})
          .num("neighbors", &TriageOptions::neighbors, "knn: k of the vote (chosen by leave-one-out when tuned)",
               config::Range::at_least(1))
          .num("l2", &TriageOptions::l2, "logistic: L2 weight (chosen by leave-one-out when tuned)",
               config::Range::at_least(0))
          .flag("cosine", &TriageOptions::cosine, "knn: cosine distance (else Euclidean); logistic: unit-length vectors");
  return s;
}
namespace {
double distance(const std::vector<float>& a, const std::vector<float>& b, bool cosine) {
  double dot = 0, na = 0, nb = 0, sq = 0;
  size_t n = std::min(a.size(), b.size());
  for (size_t j = 0; j < n; ++j) {
    dot += static_cast<double>(a[j]) * b[j];
    na += static_cast<double>(a[j]) * a[j];
    nb += static_cast<double>(b[j]) * b[j];
    double d = static_cast<double>(a[j]) - b[j];
    sq += d * d;
  }
  if (!cosine) return std::sqrt(sq);
  if (na <= 0 || nb <= 0) return 1;
  return 1 - dot / std::sqrt(na * nb);
}
}  // namespace

void TriageHead::fit(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
                        const std::vector<int>& states) {
  RSLICER_CHECK(!x.empty() && x.size() == labels.size() && x.size() == states.size(), InvalidInput,
                "triage head: need labelled training cases (got ", x.size(), ")");
  x_ = x;
  labels_ = labels;
  states_ = states;
  if (options_.model == "logistic") fit_logistic();
}

std::vector<float> TriageHead::logistic_input(const std::vector<float>& x) const {
  std::vector<float> v(dims_, 0.0f);
  std::copy_n(x.begin(), std::min(x.size(), dims_), v.begin());
  if (options_.cosine) {
    double n = 0;
    for (float a : v) n += static_cast<double>(a) * a;
    n = std::sqrt(n);
    if (n > 1e-12)
      for (float& a : v) a = static_cast<float>(a / n);
  }
  return v;
}

namespace {
// Softmax of the logits (dims + 1) x classes applied to `v` (length dims), into `p`.
void softmax_of(const std::vector<double>& w, const std::vector<float>& v, size_t classes, std::vector<double>& p) {
  p.assign(classes, 0.0);
  const size_t dims = v.size();
  for (size_t c = 0; c < classes; ++c) {
    double z = w[dims * classes + c];
    for (size_t j = 0; j < dims; ++j) z += v[j] * w[j * classes + c];
    p[c] = z;
  }
  const double top = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& z : p) sum += (z = std::exp(z - top));
  for (double& z : p) z /= sum;
}
}  // namespace

void TriageHead::fit_logistic() {
  classes_ = labels_;
  std::sort(classes_.begin(), classes_.end());
  classes_.erase(std::unique(classes_.begin(), classes_.end()), classes_.end());
  dims_ = 0;
  for (const auto& v : x_) dims_ = std::max(dims_, v.size());
  const size_t c_n = classes_.size();
  std::vector<std::vector<float>> in;
  std::vector<size_t> target;
  for (size_t i = 0; i < x_.size(); ++i) {
    in.push_back(logistic_input(x_[i]));
    target.push_back(static_cast<size_t>(std::lower_bound(classes_.begin(), classes_.end(), labels_[i]) - classes_.begin()));
  }
  weights_.assign((dims_ + 1) * c_n, 0.0);
  const double step = 0.5, n = static_cast<double>(in.size());
  std::vector<double> grad(weights_.size()), p;
  for (int it = 0; it < 500; ++it) {
    std::fill(grad.begin(), grad.end(), 0.0);
    for (size_t i = 0; i < in.size(); ++i) {
      softmax_of(weights_, in[i], c_n, p);
      p[target[i]] -= 1.0;
      for (size_t c = 0; c < c_n; ++c) {
        const double g = p[c] / n;
        for (size_t j = 0; j < dims_; ++j) grad[j * c_n + c] += g * in[i][j];
        grad[dims_ * c_n + c] += g;
      }
    }
    for (size_t k = 0; k < dims_ * c_n; ++k) grad[k] += options_.l2 * weights_[k];
    for (size_t k = 0; k < weights_.size(); ++k) weights_[k] -= step * grad[k];
  }
}

std::string TriageHead::predict(const std::vector<float>& x, int state) const {
  return predict_with_confidence(x, state).first;
}

std::pair<std::string, double> TriageHead::predict_with_confidence(const std::vector<float>& x, int state) const {
  if (options_.model == "logistic") {
    if (classes_.empty()) return {"", 0.0};
    std::vector<double> p;
    softmax_of(weights_, logistic_input(x), classes_.size(), p);
    const size_t best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    return {classes_[best], p[best]};
  }
  std::vector<size_t> pool;
  if (options_.state_aware)
    for (size_t i = 0; i < x_.size(); ++i)
      if (states_[i] == state) pool.push_back(i);
  if (pool.empty())
    for (size_t i = 0; i < x_.size(); ++i) pool.push_back(i);
  std::vector<std::pair<double, size_t>> d;
  for (size_t i : pool) d.push_back({distance(x, x_[i], options_.cosine), i});
  size_t k = std::min<size_t>(std::max(1, options_.neighbors), d.size());
  std::partial_sort(d.begin(), d.begin() + k, d.end());
  std::map<std::string, double> votes;
  for (size_t i = 0; i < k; ++i) votes[labels_[d[i].second]] += 1.0 / (d[i].first + 1e-6);
  std::string best;
  double best_v = -1, total = 0;
  for (auto& [label, v] : votes) {
    total += v;
    if (v > best_v) {
      best_v = v;
      best = label;
    }
  }
  return {best, total > 0 ? best_v / total : 0.0};
}

nlohmann::json TriageHead::to_json() const {
  return {{"options", TriageOptions::schema().to_json(options_)},
          {"state_aware", options_.state_aware},
          {"x", x_},
          {"labels", labels_},
          {"states", states_}};
}

TriageHead TriageHead::from_json(const nlohmann::json& j) {
  try {
    TriageOptions o = TriageOptions::schema().from_json(j.at("options"));
    o.state_aware = j.at("state_aware").get<bool>();
    TriageHead h(o);
    h.x_ = j.at("x").get<std::vector<std::vector<float>>>();
    h.labels_ = j.at("labels").get<std::vector<std::string>>();
    h.states_ = j.at("states").get<std::vector<int>>();
    if (h.x_.size() != h.labels_.size() || h.x_.size() != h.states_.size())
      throw ModelError("triage head: sizes do not match");
    if (o.model == "logistic") h.fit_logistic();  // deterministic: the saved cases give the saved weights
    return h;
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed triage head: ", e.what()));
  }
}

double loo_accuracy(const std::vector<std::vector<float>>& x, const std::vector<std::string>& y,
                    const std::vector<int>& st, const TriageOptions& o) {
  if (x.size() < 2) return 0;
  int correct = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<std::vector<float>> xx;
    std::vector<std::string> yy;
    std::vector<int> ss;
    for (size_t j = 0; j < x.size(); ++j)
      if (j != i) {
        xx.push_back(x[j]);
        yy.push_back(y[j]);
        ss.push_back(st[j]);
      }
    TriageHead h(o);
    h.fit(xx, yy, ss);
    if (h.predict(x[i], st[i]) == y[i]) ++correct;
  }
  return static_cast<double>(correct) / x.size();
}

TriageChoice choose_triage(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
                           const std::vector<int>& states, const std::vector<TriageOptions>& candidates) {
  TriageChoice best;
  for (const auto& o : candidates) {
    const double acc = loo_accuracy(x, labels, states, o);
    if (acc > best.accuracy + 1e-12) best = {o, acc};
  }
  return best;
}

void MajorityTriage::fit(const std::vector<std::string>& labels) {
  RSLICER_CHECK(!labels.empty(), InvalidInput, "majority triage: no training labels");
  std::map<std::string, int> counts;
  for (auto& l : labels) counts[l]++;
  int best = -1;
  for (auto& [l, c] : counts)
    if (c > best) {
      best = c;
      label_ = l;
    }
}

}  // namespace rslicer
