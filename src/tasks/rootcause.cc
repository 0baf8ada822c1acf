#include "tasks/rootcause.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/errors.h"

namespace rslicer {

const config::Schema<EmbeddingRcaOptions>& EmbeddingRcaOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<EmbeddingRcaOptions>("rcl")
          .num("min_state_refs", &EmbeddingRcaOptions::min_state_refs,
               "references of an entity in a state needed to use that state's profile", Range::at_least(1))
          .num("scale_floor", &EmbeddingRcaOptions::scale_floor,
               "scale floor as a share of the median scale over entities", Range::at_least(0))
          .text("kind", &EmbeddingRcaOptions::kind, "rank only entities of this kind (empty = all)",
                {"", "pod", "node", "service", "instance"});
  return s;
}

const config::Schema<LearnedRcaOptions>& LearnedRcaOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<LearnedRcaOptions>("rcl_learned")
          .num("epochs", &LearnedRcaOptions::epochs, "full-batch gradient steps", Range::at_least(1))
          .num("lr", &LearnedRcaOptions::lr, "step size", Range::above(0))
          .num("l2", &LearnedRcaOptions::l2, "pull of the weights toward the unsupervised start", Range::at_least(0));
  return s;
}
namespace {

struct Profile {
  std::vector<double> mean;
  double scale = 0;
  int count = 0;
};

Profile make_profile(const std::vector<const float*>& rows, int dim) {
  Profile p;
  p.count = static_cast<int>(rows.size());
  p.mean.assign(dim, 0.0);
  if (rows.empty()) return p;
  for (const float* r : rows)
    for (int j = 0; j < dim; ++j) p.mean[j] += r[j];
  for (double& m : p.mean) m /= rows.size();
  std::vector<double> d;
  for (const float* r : rows) {
    double s = 0;
    for (int j = 0; j < dim; ++j) s += (r[j] - p.mean[j]) * (r[j] - p.mean[j]);
    d.push_back(std::sqrt(s));
  }
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  p.scale = d[d.size() / 2];
  return p;
}

double dist(const float* x, const std::vector<double>& m) {
  double s = 0;
  for (size_t j = 0; j < m.size(); ++j) s += (x[j] - m[j]) * (x[j] - m[j]);
  return std::sqrt(s);
}

}  // namespace

bool rcl_match(const std::string& candidate, const std::string& candidate_service, const std::string& label,
               const std::string& label_level) {
  if (candidate == label) return true;
  if (label_level == "service") return candidate_service == label;
  return false;
}

std::vector<EntityFeatures> entity_features(const RcaInputs& in, const EmbeddingRcaOptions& o) {
  const auto& case_slices = in.case_slices;
  const auto& case_states = in.case_states;
  const auto& ref_slices = in.ref_slices;
  const auto& ref_states = in.ref_states;
  const auto& entity_names = *in.entity_names;
  const auto& entity_kinds = *in.entity_kinds;
  // Reference rows per entity, overall and per state.
  std::map<Id, std::vector<const float*>> all_rows;
  std::map<std::pair<Id, int>, std::vector<const float*>> state_rows;
  int dim = 0;
  for (size_t i = 0; i < ref_slices.size(); ++i) {
    const SliceEmbedding& s = *ref_slices[i];
    if (s.entity_dim <= 0) continue;
    dim = s.entity_dim;
    for (size_t k = 0; k < s.entities.size(); ++k) {
      const float* row = s.entity_embeddings.data() + k * s.entity_dim;
      all_rows[s.entities[k]].push_back(row);
      state_rows[{s.entities[k], ref_states[i]}].push_back(row);
    }
  }
  for (const auto* s : case_slices)
    if (s->entity_dim > 0) dim = s->entity_dim;
  std::map<Id, Profile> all_prof;
  std::map<std::pair<Id, int>, Profile> state_prof;
  std::vector<double> scales;
  for (auto& [e, rows] : all_rows) {
    all_prof[e] = make_profile(rows, dim);
    if (rows.size() >= 2) scales.push_back(all_prof[e].scale);
  }
  if (o.state_aware)
    for (auto& [key, rows] : state_rows)
      if (static_cast<int>(rows.size()) >= o.min_state_refs) state_prof[key] = make_profile(rows, dim);
  double floor = 1e-6;
  if (!scales.empty()) {
    std::nth_element(scales.begin(), scales.begin() + scales.size() / 2, scales.end());
    floor = std::max(floor, o.scale_floor * scales[scales.size() / 2]);
  }

  std::map<Id, double> best;
  std::map<Id, std::vector<double>> best_dev, sum_case;
  std::map<Id, int> n_case;
  for (size_t i = 0; i < case_slices.size(); ++i) {
    const SliceEmbedding& s = *case_slices[i];
    for (size_t k = 0; k < s.entities.size(); ++k) {
      Id e = s.entities[k];
      if (e >= entity_names.size()) continue;
      if (!o.kind.empty() && e < entity_kinds.size() && entity_kinds[e] != o.kind) continue;
      const float* row = s.entity_embeddings.data() + k * s.entity_dim;
      const Profile* p = nullptr;
      if (o.state_aware) {
        auto it = state_prof.find({e, case_states[i]});
        if (it != state_prof.end()) p = &it->second;
      }
      if (!p) {
        auto it = all_prof.find(e);
        if (it != all_prof.end()) p = &it->second;
      }
      double score = 0;
      double sc = p ? std::max(p->scale, floor) : floor;
      if (p && p->count > 0) score = dist(row, p->mean) / sc;
      auto& sum = sum_case[e];
      sum.resize(dim, 0.0);
      for (int j = 0; j < dim; ++j) sum[j] += row[j];
      n_case[e]++;
      auto it = best.find(e);
      if (it == best.end() || score > it->second) {
        best[e] = score;
        auto& d = best_dev[e];
        d.assign(dim, 0.0);
        if (p && p->count > 0)
          for (int j = 0; j < dim; ++j) d[j] = (row[j] - p->mean[j]) / sc;
      }
    }
  }
  std::vector<EntityFeatures> out;
  for (auto& [e, sc] : best) {
    EntityFeatures f;
    f.entity = entity_names[e];
    f.x.push_back(static_cast<float>(sc));
    f.x.push_back(static_cast<float>(std::log1p(sc)));
    for (double v : best_dev[e]) f.x.push_back(static_cast<float>(v));
    for (double v : sum_case[e]) f.x.push_back(static_cast<float>(v / n_case[e]));
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<EntityScore> rank_embedding(const RcaInputs& in, const EmbeddingRcaOptions& o) {
  std::vector<EntityScore> out;
  for (auto& f : entity_features(in, o))
    out.push_back({f.entity, f.x[0], ""});
  std::stable_sort(out.begin(), out.end(), [](const EntityScore& a, const EntityScore& b) {
    return a.score != b.score ? a.score > b.score : a.entity < b.entity;
  });
  return out;
}

void LearnedRcaHead::fit(const std::vector<std::vector<EntityFeatures>>& cases, const std::vector<int>& target) {
  size_t dim = 0;
  for (auto& c : cases)
    for (auto& e : c) dim = std::max(dim, e.x.size());
  w_.clear();
  if (dim == 0) return;
  // Standardise features over all training entities.
  mean_.assign(dim, 0);
  sd_.assign(dim, 0);
  double n = 0;
  for (auto& c : cases)
    for (auto& e : c) {
      for (size_t j = 0; j < e.x.size(); ++j) mean_[j] += e.x[j];
      n += 1;
    }
  if (n < 2) return;
  for (auto& m : mean_) m /= n;
  for (auto& c : cases)
    for (auto& e : c)
      for (size_t j = 0; j < e.x.size(); ++j) sd_[j] += (e.x[j] - mean_[j]) * (e.x[j] - mean_[j]);
  for (auto& s : sd_) s = std::max(std::sqrt(s / n), 1e-6);
  w0_.assign(dim, 0);
  w0_[0] = sd_[0];  // = the unsupervised ranking (distance) in standardised units
  w_ = w0_;
  std::vector<double> grad(dim);
  for (int ep = 0; ep < options_.epochs; ++ep) {
    std::fill(grad.begin(), grad.end(), 0.0);
    int used = 0;
    for (size_t c = 0; c < cases.size(); ++c) {
      if (target[c] < 0 || cases[c].size() < 2) continue;
      ++used;
      std::vector<double> s(cases[c].size());
      double mx = -1e300;
      for (size_t k = 0; k < cases[c].size(); ++k) {
        double v = 0;
        for (size_t j = 0; j < cases[c][k].x.size(); ++j) v += w_[j] * (cases[c][k].x[j] - mean_[j]) / sd_[j];
        s[k] = v;
        mx = std::max(mx, v);
      }
      double z = 0;
      for (double& v : s) z += (v = std::exp(v - mx));
      for (size_t k = 0; k < cases[c].size(); ++k) {
        double p = s[k] / z - (static_cast<int>(k) == target[c] ? 1.0 : 0.0);
        for (size_t j = 0; j < cases[c][k].x.size(); ++j) grad[j] += p * (cases[c][k].x[j] - mean_[j]) / sd_[j];
      }
    }
    if (used == 0) {
      w_ = w0_;
      return;
    }
    for (size_t j = 0; j < dim; ++j) w_[j] -= options_.lr * (grad[j] / used + options_.l2 * (w_[j] - w0_[j]));
  }
}

std::vector<EntityScore> LearnedRcaHead::rank(const std::vector<EntityFeatures>& entities) const {
  std::vector<EntityScore> out;
  for (auto& e : entities) {
    double v = 0;
    for (size_t j = 0; j < e.x.size() && j < w_.size(); ++j) v += w_[j] * (e.x[j] - mean_[j]) / sd_[j];
    out.push_back({e.entity, v, ""});
  }
  std::stable_sort(out.begin(), out.end(), [](const EntityScore& a, const EntityScore& b) {
    return a.score != b.score ? a.score > b.score : a.entity < b.entity;
  });
  return out;
}

nlohmann::json LearnedRcaHead::to_json() const {
  return {{"options", LearnedRcaOptions::schema().to_json(options_)},
          {"w", w_},
          {"w0", w0_},
          {"mean", mean_},
          {"sd", sd_}};
}

LearnedRcaHead LearnedRcaHead::from_json(const nlohmann::json& j) {
  try {
    LearnedRcaHead h(LearnedRcaOptions::schema().from_json(j.at("options")));
    h.w_ = j.at("w").get<std::vector<double>>();
    h.w0_ = j.at("w0").get<std::vector<double>>();
    h.mean_ = j.at("mean").get<std::vector<double>>();
    h.sd_ = j.at("sd").get<std::vector<double>>();
    if (!h.w_.empty() && (h.mean_.size() < h.w_.size() || h.sd_.size() < h.w_.size()))
      throw ModelError("root-cause head: sizes do not match");
    return h;
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed root-cause head: ", e.what()));
  }
}

}  // namespace rslicer
