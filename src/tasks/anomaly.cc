#include "tasks/anomaly.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/base64.h"
#include "core/errors.h"
#include "core/hash.h"

namespace rslicer {

const config::Schema<AnomalyOptions>& AnomalyOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<AnomalyOptions>("ad")
          .num("neighbors", &AnomalyOptions::neighbors, "k of the kNN distance to normal slices", Range::at_least(1))
          .num("min_state_refs", &AnomalyOptions::min_state_refs,
               "a state with fewer normal references falls back to the global set", Range::at_least(1))
          .num("exclusion_s", &AnomalyOptions::exclusion_s,
               "references closer than this to the scored slice are skipped (no self match)", Range::closed(0, 1e9))
          .flag("online", &AnomalyOptions::online,
                "a stream's kNN also takes the slices no AD part alarmed on as normal references, online_delay_s "
                "after them")
          .num("online_delay_s", &AnomalyOptions::online_delay_s,
               "a slice no AD part alarmed on becomes a reference once the stream is this far past it",
               Range::closed(0, 1e9))
          .num("online_max", &AnomalyOptions::online_max,
               "at most this many references added online (the oldest go first)", Range::at_least(1))
          .flag("whiten", &AnomalyOptions::whiten,
                "Mahalanobis distance under the normal references' covariance (at least 10 references per dimension)")
          .num("whiten_ridge", &AnomalyOptions::whiten_ridge,
               "ridge added to the references' covariance, times their mean variance", Range::closed(0, 1))
          .num("calibration_exclusion_s", &AnomalyOptions::calibration_exclusion_s,
               "a normal training slice calibrating the score (scale, SPOT threshold) skips references closer than "
               "this: its neighbours minutes apart are closer than anything a new slice meets (where fewer than "
               "`neighbors` lie farther, the nearer ones farthest in time fill up)",
               Range::closed(0, 1e9));
  return s;
}
namespace {
double l2(const float* a, const float* b, int dim) {
  double s = 0;
  for (int j = 0; j < dim; ++j) {
    double d = static_cast<double>(a[j]) - b[j];
    s += d * d;
  }
  return std::sqrt(s);
}
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}
}  // namespace

void KnnAnomalyHead::fit(const std::vector<float>& refs, int dim, const std::vector<TimeUs>& times,
                         const std::vector<int>& states) {
  RSLICER_CHECK(dim > 0 && !times.empty() && refs.size() == times.size() * static_cast<size_t>(dim) &&
                    states.size() == times.size(),
                InvalidInput, "anomaly head: need normal reference slices (got ", times.size(), ", dim ", dim, ")");
  dim_ = dim;
  refs_ = refs;
  times_ = times;
  states_ = states;
  set_fitted();
  scale_.clear();
  fit_whitening();
  index_states();
  const int k = static_cast<int>(by_state_.size());
  // Calibration: median leave-one-out raw score of the normals of each state.
  std::vector<std::vector<double>> loo(k);
  std::vector<double> all_loo;
  for (size_t i = 0; i < times.size(); ++i) {
    double r = raw_score(refs_.data() + i * dim_, states[i], times_[i], /*calibrating=*/true);
    if (!std::isfinite(r)) continue;
    loo[states[i]].push_back(r);
    all_loo.push_back(r);
  }
  global_scale_ = std::max(median(all_loo), 1e-9);
  scale_.assign(k, global_scale_);
  for (int s = 0; s < k; ++s)
    if (options_.state_aware && static_cast<int>(by_state_[s].size()) >= options_.min_state_refs && !loo[s].empty())
      scale_[s] = std::max(median(loo[s]), 1e-9);
}

void KnnAnomalyHead::index_states() {
  int k = static_cast<int>(scale_.size());
  for (int s : states_) k = std::max(k, s + 1);
  by_state_.assign(k, {});
  all_.clear();
  for (size_t i = 0; i < times_.size(); ++i) {
    all_.push_back(static_cast<std::int64_t>(i));
    by_state_[states_[i]].push_back(static_cast<std::int64_t>(i));
  }
}

void KnnAnomalyHead::set_fitted() {
  fitted_ = times_.size();
  added_ = 0;
  fingerprint_ = fnv1a(std::to_string(dim_));
  fingerprint_ =
      fnv1a(std::string_view(reinterpret_cast<const char*>(refs_.data()), refs_.size() * sizeof(float)), fingerprint_);
}

void KnnAnomalyHead::add_reference(const float* x, int state, TimeUs time) {
  append(x, state, time);
  index_states();
}

void KnnAnomalyHead::append(const float* x, int state, TimeUs time) {
  RSLICER_CHECK(dim_ > 0 && valid_anomaly_state(state), InvalidInput,
                "anomaly head: a reference needs a fitted head and a state in [0, ", kMaxAnomalyStates, "), got ",
                state);
  const size_t d = static_cast<size_t>(dim_);
  if (added_ >= static_cast<size_t>(options_.online_max)) {  // the oldest added reference goes
    refs_.erase(refs_.begin() + fitted_ * d, refs_.begin() + (fitted_ + 1) * d);
    if (whitened()) search_refs_.erase(search_refs_.begin() + fitted_ * d, search_refs_.begin() + (fitted_ + 1) * d);
    times_.erase(times_.begin() + fitted_);
    states_.erase(states_.begin() + fitted_);
    --added_;
  }
  refs_.insert(refs_.end(), x, x + d);
  if (whitened()) {
    search_refs_.resize(search_refs_.size() + d);
    whiten(x, search_refs_.data() + search_refs_.size() - d);
  }
  times_.push_back(time);
  states_.push_back(state);
  ++added_;
}

nlohmann::json floats_to_json(const std::vector<float>& v) { return floats_to_base64(v); }

std::vector<float> floats_from_json(const nlohmann::json& j, const char* what) {
  if (j.is_array()) return j.get<std::vector<float>>();
  if (j.is_string()) {
    auto v = floats_of_base64(j.get_ref<const std::string&>());
    if (v) return std::move(*v);
  }
  throw ModelError(cat(what, ": neither an array of numbers nor base64 of whole float32 values"));
}

nlohmann::json KnnAnomalyHead::added_to_json() const {
  const size_t d = static_cast<size_t>(dim_);
  return {{"fitted", std::to_string(fingerprint_)},
          {"references",
           floats_to_json(std::vector<float>(refs_.begin() + static_cast<std::ptrdiff_t>(fitted_ * d), refs_.end()))},
          {"times", std::vector<TimeUs>(times_.begin() + static_cast<std::ptrdiff_t>(fitted_), times_.end())},
          {"states", std::vector<int>(states_.begin() + static_cast<std::ptrdiff_t>(fitted_), states_.end())}};
}

void KnnAnomalyHead::add_added(const nlohmann::json& j) {
  try {
    if (j.at("fitted").get<std::string>() != std::to_string(fingerprint_))
      throw ModelError(
          "anomaly head: the added references were taken by a head with other fitted references "
          "(another model)");
    const auto refs = floats_from_json(j.at("references"), "anomaly head: added references");
    const auto times = j.at("times").get<std::vector<TimeUs>>();
    const auto states = j.at("states").get<std::vector<int>>();
    if (dim_ <= 0 || refs.size() != times.size() * static_cast<size_t>(dim_) || states.size() != times.size())
      throw ModelError(cat("anomaly head: ", times.size(), " added references of ", refs.size(),
                           " values do not fit dimension ", dim_));
    for (int s : states)  // all checked before any is taken
      if (!valid_anomaly_state(s)) throw ModelError(cat("anomaly head: state ", s, " out of range"));
    for (size_t i = 0; i < times.size(); ++i) append(refs.data() + i * static_cast<size_t>(dim_), states[i], times[i]);
    index_states();
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed added references: ", e.what()));
  }
}

void KnnAnomalyHead::fit_whitening() {
  mean_.clear();
  whitening_.clear();
  search_refs_.clear();
  const size_t n = times_.size(), d = static_cast<size_t>(dim_);
  if (!options_.whiten || n < 10 * d) return;
  mean_.assign(d, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) mean_[j] += refs_[i * d + j];
  for (double& m : mean_) m /= static_cast<double>(n);
  std::vector<double> c(d * d, 0.0), x(d);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) x[j] = refs_[i * d + j] - mean_[j];
    for (size_t a = 0; a < d; ++a)
      for (size_t b = 0; b <= a; ++b) c[a * d + b] += x[a] * x[b];
  }
  double trace = 0;
  for (size_t a = 0; a < d; ++a) trace += c[a * d + a] / static_cast<double>(n - 1);
  const double ridge = options_.whiten_ridge * trace / static_cast<double>(d) + 1e-300;
  if (!(trace > 0)) {  // every reference the same: nothing to whiten
    mean_.clear();
    return;
  }
  // Cholesky C = L L^T (lower triangle), then L^-1 by forward substitution.
  std::vector<double> l(d * d, 0.0);
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b <= a; ++b) {
      double v = c[a * d + b] / static_cast<double>(n - 1) + (a == b ? ridge : 0.0);
      for (size_t k = 0; k < b; ++k) v -= l[a * d + k] * l[b * d + k];
      if (a == b) {
        l[a * d + a] = std::sqrt(std::max(v, ridge));
      } else {
        l[a * d + b] = v / l[b * d + b];
      }
    }
  whitening_.assign(d * d, 0.0);
  for (size_t col = 0; col < d; ++col)
    for (size_t a = col; a < d; ++a) {
      double v = a == col ? 1.0 : 0.0;
      for (size_t k = col; k < a; ++k) v -= l[a * d + k] * whitening_[k * d + col];
      whitening_[a * d + col] = v / l[a * d + a];
    }
  search_refs_.resize(n * d);
  for (size_t i = 0; i < n; ++i) whiten(refs_.data() + i * d, search_refs_.data() + i * d);
}

void KnnAnomalyHead::whiten(const float* x, float* out) const {
  const size_t d = static_cast<size_t>(dim_);
  for (size_t a = 0; a < d; ++a) {
    double v = 0;
    for (size_t k = 0; k <= a; ++k) v += whitening_[a * d + k] * (x[k] - mean_[k]);
    out[a] = static_cast<float>(v);
  }
}

const std::vector<std::int64_t>& KnnAnomalyHead::refs_for(int state) const {
  if (options_.state_aware && state >= 0 && state < static_cast<int>(by_state_.size()) &&
      static_cast<int>(by_state_[state].size()) >= options_.min_state_refs)
    return by_state_[state];
  return all_;
}

double KnnAnomalyHead::raw_score(const float* input, int state, TimeUs time, bool calibrating) const {
  // plain: the slice against refs_; whitened: the whitened slice against the whitened references
  const float* x = input;
  const float* refs = refs_.data();
  std::vector<float> white;
  if (whitened()) {
    white.resize(static_cast<size_t>(dim_));
    whiten(input, white.data());
    x = white.data();
    refs = search_refs_.data();
  }
  const auto& idx = refs_for(state);
  const TimeUs excl = static_cast<TimeUs>(options_.exclusion_s * kUsPerSecond);
  const TimeUs far =
      calibrating ? std::max(excl, static_cast<TimeUs>(options_.calibration_exclusion_s * kUsPerSecond)) : excl;
  const size_t want = static_cast<size_t>(std::max(1, options_.neighbors));
  std::vector<double> d;                        // beyond `far`
  std::vector<std::pair<TimeUs, double>> near;  // (time apart, distance) between exclusion_s and `far`
  d.reserve(idx.size());
  for (std::int64_t i : idx) {
    const TimeUs dt = std::llabs(times_[i] - time);
    if (dt < excl) continue;
    const double dist = l2(x, refs + i * dim_, dim_);
    if (dt < far)
      near.push_back({dt, dist});
    else
      d.push_back(dist);
  }
  if (d.size() < want && !near.empty()) {  // the exclusion shrinks: the nearer references farthest in time fill up
    std::sort(near.begin(), near.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < near.size() && d.size() < want; ++i) d.push_back(near[i].second);
  }
  if (d.empty()) return std::numeric_limits<double>::infinity();
  size_t k = std::min<size_t>(want, d.size());
  std::partial_sort(d.begin(), d.begin() + k, d.end());
  double s = 0;
  for (size_t i = 0; i < k; ++i) s += d[i];
  return s / k;
}

double KnnAnomalyHead::score(const float* x, int state, TimeUs time, bool calibrating) const {
  double r = raw_score(x, state, time, calibrating);
  double scale = global_scale_;
  if (options_.state_aware && state >= 0 && state < static_cast<int>(scale_.size()) &&
      &refs_for(state) != &all_)
    scale = scale_[state];
  return r / scale;
}

nlohmann::json KnnAnomalyHead::to_json() const {
  return {{"options", AnomalyOptions::schema().to_json(options_)},
          {"state_aware", options_.state_aware},
          {"dim", dim_},
          {"references", floats_to_json(refs_)},
          {"times", times_},
          {"states", states_},
          {"state_scales", scale_},
          {"global_scale", global_scale_}};
}

KnnAnomalyHead KnnAnomalyHead::from_json(const nlohmann::json& j) {
  try {
    AnomalyOptions o = AnomalyOptions::schema().from_json(j.at("options"));
    // heads saved before the option were calibrated against every reference beyond exclusion_s
    if (!j.at("options").contains("calibration_exclusion_s")) o.calibration_exclusion_s = 0;
    // ... and with plain Euclidean distances
    if (!j.at("options").contains("whiten")) o.whiten = false;
    o.state_aware = j.at("state_aware").get<bool>();
    KnnAnomalyHead h(o);
    h.dim_ = j.at("dim").get<int>();
    h.refs_ = floats_from_json(j.at("references"), "anomaly head: references");
    h.times_ = j.at("times").get<std::vector<TimeUs>>();
    h.states_ = j.at("states").get<std::vector<int>>();
    h.scale_ = j.at("state_scales").get<std::vector<double>>();
    h.global_scale_ = j.at("global_scale").get<double>();
    if (h.dim_ <= 0 || h.refs_.size() != h.times_.size() * static_cast<size_t>(h.dim_) ||
        h.states_.size() != h.times_.size())
      throw ModelError("anomaly head: reference sizes do not match");
    for (int s : h.states_)
      if (!valid_anomaly_state(s)) throw ModelError(cat("anomaly head: state ", s, " out of range"));
    h.set_fitted();
    h.fit_whitening();  // the same references give the same transform
    h.index_states();
    return h;
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed anomaly head: ", e.what()));
  }
}

}  // namespace rslicer
