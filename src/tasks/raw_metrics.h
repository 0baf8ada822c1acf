// Raw metric series per entity x KPI and the baselines that use them
// directly: BARO's robust scorer and N-sigma for root cause ranking, a
// max-|z| slice score for SPOT anomaly detection, and a per-case
// (service x KPI) deviation vector for kNN triage.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/time.h"
#include "telemetry/stream.h"

#include "core/config.h"

namespace rslicer {

struct MetricSeries {
  std::vector<TimeUs> times;   // sorted
  std::vector<double> values;
};

struct MetricEntity {
  std::string name;
  std::string service;   // owning service name ("" when the entity is a service)
  std::string kind;      // "pod", "node", "service", "instance"
  std::map<std::string, MetricSeries> kpis;
};

class MetricTable {
 public:
  void add(const std::string& entity, const std::string& service, const std::string& kind, const std::string& kpi,
           TimeUs t, double v);
  void finish();  // sorts every series by time
  const std::vector<MetricEntity>& entities() const { return entities_; }
  int find(const std::string& name) const;  // -1 when absent
  TimeUs first_time() const { return first_; }
  TimeUs last_time() const { return last_; }

 private:
  std::vector<MetricEntity> entities_;
  std::map<std::string, int> index_;
  TimeUs first_ = INT64_MAX, last_ = INT64_MIN;
};

// Fills a MetricTable with every metric point of a pass (dataset/dataset.h).
class MetricTableBuilder final : public RecordObserver {
 public:
  void metric(const MetricPoint& m, const Catalog& catalog) override;
  void finish(const Catalog&) override { table_.finish(); }
  const MetricTable& table() const { return table_; }

 private:
  MetricTable table_;
};

struct RawScoreOptions {
  double reference_s = 3600;   // the normal period: [t - reference_s, t - guard_s)
  double guard_s = 0;          // gap between the normal period and t
  double anomaly_s = 300;      // scored period: [t, t + anomaly_s)
  bool robust = true;          // true: BARO (median / IQR); false: N-sigma (mean / standard deviation)
  double min_rel_scale = 0.0;  // scale floor as a share of |centre| (0 = BARO exactly)
  double min_abs_scale = 1e-12; // a scale at or below this is replaced by 1 (scikit-learn's zero-scale rule, as BARO)
  // Degenerate KPIs (rank_raw / raw_entity_scores only): a KPI is skipped when its normal period is mostly
  // missing (NaN rows are dropped at read time) or mostly zero, e.g. the Nezha pod latency columns that are
  // 0 / NaN with rare spikes of 1e8. 1.0 turns a rule off.
  double max_missing_share = 0.5;  // skip when the normal period has < (1 - this) x the points of the entity's fullest KPI
  double max_zero_share = 0.5;     // skip when more than this share of the normal values are exactly 0
  std::string skip_kpis_containing;  // rank_raw / raw_entity_scores: skip KPIs whose name contains this ("" = none)
  std::string only_kpis_containing;  // rank_raw / raw_entity_scores: use only KPIs whose name contains this ("" = all)
  static const config::Schema<RawScoreOptions>& schema();
};

struct EntityScore {
  std::string entity;
  double score = 0;
  std::string top_kpi;  // the KPI that gave the score (raw baselines)
  double value = 0;     // its value that gave the score
  double normal = 0;    // its normal centre (median, or mean for N-sigma)
};

// Root cause ranking by the largest |scaled deviation| of any KPI of each
// entity in [t, t + anomaly_s) against the normal period. Entities of other
// kinds than `kind` (e.g. "pod") are skipped when kind is not empty.
std::vector<EntityScore> rank_raw(const MetricTable& table, TimeUs t, const RawScoreOptions& options,
                                  const std::string& kind = "");

// The same scores as rank_raw keyed by entity (entities without any usable KPI are absent).
std::map<std::string, EntityScore> raw_entity_scores(const MetricTable& table, TimeUs t, const RawScoreOptions& options,
                                                     const std::string& kind = "");

// True when a KPI's normal-period values are degenerate under the options' missing / zero rules;
// `expected` is the point count of the entity's fullest KPI in the same period.
bool degenerate_kpi(const std::vector<double>& normal, size_t expected, const RawScoreOptions& options);

// Mean of the 5 largest robust |z| (each capped at 20) over entity x KPI of the
// window mean in [start, end) against [start - reference_s, start): the
// raw-feature anomaly score of a slice.
double raw_window_score(const MetricTable& table, TimeUs start, TimeUs end, const RawScoreOptions& options);

// Robust z of the window mean against the normal period, per "service|kpi"
// (pods mapped to their service so cases of different days line up).
std::map<std::string, double> raw_case_vector(const MetricTable& table, TimeUs start, TimeUs end,
                                              const RawScoreOptions& options);

}  // namespace rslicer
