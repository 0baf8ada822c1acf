#include "tasks/raw_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "telemetry/stream.h"

namespace rslicer {

const config::Schema<RawScoreOptions>& RawScoreOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<RawScoreOptions>("raw")
          .num("reference_s", &RawScoreOptions::reference_s, "normal period [t - reference_s, t - guard_s)",
               Range::above(0))
          .num("guard_s", &RawScoreOptions::guard_s, "gap between the normal period and t", Range::at_least(0))
          .num("anomaly_s", &RawScoreOptions::anomaly_s, "scored period [t, t + anomaly_s)", Range::above(0))
          .flag("robust", &RawScoreOptions::robust, "BARO (median / IQR); false: N-sigma (mean / sd)")
          .num("min_rel_scale", &RawScoreOptions::min_rel_scale, "scale floor as a share of |centre|",
               Range::at_least(0))
          .num("min_abs_scale", &RawScoreOptions::min_abs_scale, "a scale at or below this is replaced by 1",
               Range::at_least(0))
          .num("max_missing_share", &RawScoreOptions::max_missing_share,
               "skip a KPI whose normal period misses more than this share of points", Range::closed(0, 1))
          .num("max_zero_share", &RawScoreOptions::max_zero_share,
               "skip a KPI whose normal values are 0 in more than this share", Range::closed(0, 1))
          .text("skip_kpis_containing", &RawScoreOptions::skip_kpis_containing,
                "skip KPIs whose name contains this (\"\" = none)")
          .text("only_kpis_containing", &RawScoreOptions::only_kpis_containing,
                "use only KPIs whose name contains this (\"\" = all)");
  return s;
}

void MetricTable::add(const std::string& entity, const std::string& service, const std::string& kind,
                      const std::string& kpi, TimeUs t, double v) {
  auto it = index_.find(entity);
  int e;
  if (it == index_.end()) {
    e = static_cast<int>(entities_.size());
    index_[entity] = e;
    entities_.push_back({entity, service, kind, {}});
  } else {
    e = it->second;
  }
  auto& s = entities_[e].kpis[kpi];
  s.times.push_back(t);
  s.values.push_back(v);
  first_ = std::min(first_, t);
  last_ = std::max(last_, t);
}

void MetricTable::finish() {
  for (auto& e : entities_)
    for (auto& [kpi, s] : e.kpis) {
      bool sorted = std::is_sorted(s.times.begin(), s.times.end());
      if (sorted) {
        // Drop exact duplicates (the same row read from two files).
        MetricSeries out;
        for (size_t i = 0; i < s.times.size(); ++i)
          if (out.times.empty() || out.times.back() != s.times[i]) {
            out.times.push_back(s.times[i]);
            out.values.push_back(s.values[i]);
          }
        s = std::move(out);
        continue;
      }
      std::vector<size_t> order(s.times.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.times[a] < s.times[b]; });
      MetricSeries out;
      for (size_t i : order) {
        if (!out.times.empty() && out.times.back() == s.times[i]) continue;
        out.times.push_back(s.times[i]);
        out.values.push_back(s.values[i]);
      }
      s = std::move(out);
    }
}

int MetricTable::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

void MetricTableBuilder::metric(const MetricPoint& m, const Catalog& cat) {
  const std::string& name = cat.entities.name(m.entity);
  const auto& info = cat.entity_info[m.entity];
  std::string service = info.service != kNoId && info.service != m.entity ? cat.entities.name(info.service) : "";
  table_.add(name, service, entity_kind_name(info.kind), cat.kpis.name(m.kpi), m.time, m.value);
}

namespace {

// Values of a series with time in [a, b).
void values_in(const MetricSeries& s, TimeUs a, TimeUs b, std::vector<double>& out) {
  out.clear();
  auto lo = std::lower_bound(s.times.begin(), s.times.end(), a);
  auto hi = std::lower_bound(s.times.begin(), s.times.end(), b);
  for (auto it = lo; it != hi; ++it) out.push_back(s.values[it - s.times.begin()]);
}

double quantile(std::vector<double>& v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t i = static_cast<size_t>(pos);
  double f = pos - i;
  return v[i] + (i + 1 < v.size() ? f * (v[i + 1] - v[i]) : 0);
}

// Centre and scale of the normal period; false when it is empty.
bool centre_scale(std::vector<double>& ref, const RawScoreOptions& o, double& centre, double& scale) {
  if (ref.empty()) return false;
  if (o.robust) {
    centre = quantile(ref, 0.5);
    scale = quantile(ref, 0.75) - quantile(ref, 0.25);
  } else {
    double m = 0;
    for (double v : ref) m += v;
    m /= ref.size();
    double var = 0;
    for (double v : ref) var += (v - m) * (v - m);
    centre = m;
    scale = ref.size() > 1 ? std::sqrt(var / (ref.size() - 1)) : 0;
  }
  // The floor relative to the level first (a flat KPI at 5 % gets scale 0.5 % with a 0.1 floor), then
  // scikit-learn's rule (used by BARO): a scale that is still zero becomes 1.
  scale = std::max(scale, o.min_rel_scale * std::abs(centre));
  if (!(scale > o.min_abs_scale)) scale = 1.0;
  return true;
}

}  // namespace

bool degenerate_kpi(const std::vector<double>& normal, size_t expected, const RawScoreOptions& o) {
  if (normal.empty()) return true;
  if (static_cast<double>(normal.size()) < (1.0 - o.max_missing_share) * static_cast<double>(expected)) return true;
  size_t zeros = 0;
  for (double v : normal) zeros += v == 0.0;
  return static_cast<double>(zeros) > o.max_zero_share * static_cast<double>(normal.size());
}

std::map<std::string, EntityScore> raw_entity_scores(const MetricTable& table, TimeUs t, const RawScoreOptions& o,
                                                     const std::string& kind) {
  const TimeUs ref_a = t - static_cast<TimeUs>(o.reference_s * kUsPerSecond);
  const TimeUs ref_b = t - static_cast<TimeUs>(o.guard_s * kUsPerSecond);
  const TimeUs an_b = t + static_cast<TimeUs>(o.anomaly_s * kUsPerSecond);
  std::map<std::string, EntityScore> out;
  std::vector<double> an;
  std::vector<std::vector<double>> refs;
  for (const auto& e : table.entities()) {
    if (!kind.empty() && e.kind != kind) continue;
    refs.assign(e.kpis.size(), {});
    size_t expected = 0, k = 0;
    for (const auto& [kpi, s] : e.kpis) {
      values_in(s, ref_a, ref_b, refs[k]);
      expected = std::max(expected, refs[k].size());
      ++k;
    }
    EntityScore es{e.name, -1, "", 0, 0};
    bool any = false;
    k = 0;
    for (const auto& [kpi, s] : e.kpis) {
      std::vector<double>& ref = refs[k++];
      if (!o.skip_kpis_containing.empty() && kpi.find(o.skip_kpis_containing) != std::string::npos) continue;
      if (!o.only_kpis_containing.empty() && kpi.find(o.only_kpis_containing) == std::string::npos) continue;
      if (degenerate_kpi(ref, expected, o)) continue;
      values_in(s, t, an_b, an);
      double c, sc;
      if (an.empty() || !centre_scale(ref, o, c, sc)) continue;
      any = true;
      for (double v : an) {
        double z = std::abs(v - c) / sc;
        if (z > es.score) {
          es.score = z;
          es.top_kpi = kpi;
          es.value = v;
          es.normal = c;
        }
      }
    }
    if (any) out[e.name] = es;
  }
  return out;
}

std::vector<EntityScore> rank_raw(const MetricTable& table, TimeUs t, const RawScoreOptions& o,
                                  const std::string& kind) {
  std::vector<EntityScore> out;
  for (auto& [name, es] : raw_entity_scores(table, t, o, kind)) out.push_back(es);
  std::stable_sort(out.begin(), out.end(), [](const EntityScore& a, const EntityScore& b) {
    return a.score != b.score ? a.score > b.score : a.entity < b.entity;
  });
  return out;
}

double raw_window_score(const MetricTable& table, TimeUs start, TimeUs end, const RawScoreOptions& o) {
  const TimeUs ref_a = start - static_cast<TimeUs>(o.reference_s * kUsPerSecond);
  std::vector<double> ref, an, zs;
  for (const auto& e : table.entities())
    for (const auto& [kpi, s] : e.kpis) {
      values_in(s, ref_a, start, ref);
      values_in(s, start, end, an);
      double c, sc;
      if (an.empty() || ref.size() < 5 || !centre_scale(ref, o, c, sc)) continue;
      double m = 0;
      for (double v : an) m += v;
      m /= an.size();
      zs.push_back(std::min(20.0, std::abs(m - c) / sc));
    }
  // Mean of the 5 largest capped |z|: one flat KPI waking up cannot dominate.
  size_t k = std::min<size_t>(5, zs.size());
  if (k == 0) return 0;
  std::partial_sort(zs.begin(), zs.begin() + k, zs.end(), std::greater<double>());
  double s = 0;
  for (size_t i = 0; i < k; ++i) s += zs[i];
  return s / k;
}

std::map<std::string, double> raw_case_vector(const MetricTable& table, TimeUs start, TimeUs end,
                                              const RawScoreOptions& o) {
  const TimeUs ref_a = start - static_cast<TimeUs>(o.reference_s * kUsPerSecond);
  const TimeUs ref_b = start - static_cast<TimeUs>(o.guard_s * kUsPerSecond);
  std::map<std::string, double> out;
  std::vector<double> ref, an;
  for (const auto& e : table.entities())
    for (const auto& [kpi, s] : e.kpis) {
      values_in(s, ref_a, ref_b, ref);
      values_in(s, start, end, an);
      double c, sc;
      if (an.empty() || !centre_scale(ref, o, c, sc)) continue;
      double m = 0;
      for (double v : an) m += v;
      m /= an.size();
      double z = (m - c) / sc;
      z = std::max(-10.0, std::min(10.0, z));
      std::string key = (e.service.empty() ? e.name : e.service) + "|" + kpi;
      // Several pods of one service: keep the largest deviation.
      auto it = out.find(key);
      if (it == out.end() || std::abs(z) > std::abs(it->second)) out[key] = z;
    }
  return out;
}

}  // namespace rslicer
