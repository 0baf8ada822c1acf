#include "tasks/triage.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/errors.h"

namespace rslicer {

const config::Schema<TriageOptions>& TriageOptions::schema() {
  static const auto s =
      config::Schema<TriageOptions>("triage")
          .num("neighbors", &TriageOptions::neighbors, "k of the kNN vote (chosen by leave-one-out when tuned)",
               config::Range::at_least(1))
          .flag("cosine", &TriageOptions::cosine, "cosine distance (else Euclidean)");
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

void KnnTriageHead::fit(const std::vector<std::vector<float>>& x, const std::vector<std::string>& labels,
                        const std::vector<int>& states) {
  RSLICER_CHECK(!x.empty() && x.size() == labels.size() && x.size() == states.size(), InvalidInput,
                "triage head: need labelled training cases (got ", x.size(), ")");
  x_ = x;
  labels_ = labels;
  states_ = states;
}

std::string KnnTriageHead::predict(const std::vector<float>& x, int state) const {
  return predict_with_confidence(x, state).first;
}

std::pair<std::string, double> KnnTriageHead::predict_with_confidence(const std::vector<float>& x, int state) const {
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

nlohmann::json KnnTriageHead::to_json() const {
  return {{"options", TriageOptions::schema().to_json(options_)},
          {"state_aware", options_.state_aware},
          {"x", x_},
          {"labels", labels_},
          {"states", states_}};
}

KnnTriageHead KnnTriageHead::from_json(const nlohmann::json& j) {
  try {
    TriageOptions o = TriageOptions::schema().from_json(j.at("options"));
    o.state_aware = j.at("state_aware").get<bool>();
    KnnTriageHead h(o);
    h.x_ = j.at("x").get<std::vector<std::vector<float>>>();
    h.labels_ = j.at("labels").get<std::vector<std::string>>();
    h.states_ = j.at("states").get<std::vector<int>>();
    if (h.x_.size() != h.labels_.size() || h.x_.size() != h.states_.size())
      throw ModelError("triage head: sizes do not match");
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
    KnnTriageHead h(o);
    h.fit(xx, yy, ss);
    if (h.predict(x[i], st[i]) == y[i]) ++correct;
  }
  return static_cast<double>(correct) / x.size();
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
