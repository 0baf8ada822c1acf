#include "features/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace rslicer {
namespace {

// A catalog with two pods and a KPI, slices of one point per minute.
struct Fixture {
  Catalog catalog;
  Id pod_a, pod_b, cpu, mem, op;
  Fixture() {
    pod_a = catalog.entity("ts-order-service-5b67c48447-mv5hb", EntityKind::kPod);
    pod_b = catalog.entity("ts-user-service-687d654649-lrcwv", EntityKind::kPod);
    cpu = catalog.kpis.intern("CpuUsageRate(%)");
    mem = catalog.kpis.intern("MemoryUsage(Mi)");
    op = catalog.operations.intern("GET /api/v1/orderservice/order");
  }
  // window [i, i+3) minutes; value of pod_a cpu at minute t is f(t)
  Slice make(std::int64_t i, double (*f)(std::int64_t)) const {
    Slice s;
    s.index = i;
    s.start = i * kUsPerMinute;
    s.end = (i + 3) * kUsPerMinute;
    for (std::int64_t t = i; t < i + 3; ++t) {
      s.metrics.push_back({t * kUsPerMinute + 1000, pod_a, cpu, f(t)});
      s.metrics.push_back({t * kUsPerMinute + 1000, pod_a, mem, 100.0});
      s.metrics.push_back({t * kUsPerMinute + 1000, pod_b, cpu, 5.0});
    }
    std::sort(s.metrics.begin(), s.metrics.end(), [](auto& a, auto& b) { return a.time < b.time; });
    s.mask.set(Modality::kMetrics);
    return s;
  }
};

double flat(std::int64_t t) { return 10.0 + 0.1 * (t % 3); }
double spike_at_50(std::int64_t t) { return t >= 50 ? 90.0 : 10.0 + 0.1 * (t % 3); }
double peek_probe(std::int64_t t) { return t >= 52 ? 1000.0 : 10.0 + 0.1 * (t % 3); }

TEST(NamePieces, SplitsPunctuationCamelCaseAndIds) {
  EXPECT_EQ(name_pieces("ts-order-service-5b67c48447-mv5hb"),
            (std::vector<std::string>{"ts", "order", "service", "<num>", "<num>"}));
  EXPECT_EQ(name_pieces("PodClientLatencyP90(s)"),
            (std::vector<std::string>{"pod", "client", "latency", "p", "90", "s"}));
  EXPECT_EQ(name_pieces("HTTPServerError"), (std::vector<std::string>{"http", "server", "error"}));
  EXPECT_EQ(name_pieces("GET /api/v1/orders"), (std::vector<std::string>{"get", "api", "v", "1", "orders"}));
}

TEST(NamePieces, BucketsAreStableAndInRange) {
  auto a = piece_bucket("order", 7, 4096);
  EXPECT_EQ(a, piece_bucket("order", 7, 4096));
  EXPECT_NE(a, piece_bucket("order", 8, 4096));  // seed matters (could collide by chance, 1/4095)
  for (const char* p : {"a", "order", "service", "<num>", "latency"}) {
    auto b = piece_bucket(p, 1, 64);
    EXPECT_GE(b, 1);
    EXPECT_LT(b, 64);
  }
}

TEST(FeatureExtractor, MetricTokenPerEntityAndZScoreOfSpike) {
  Fixture fx;
  FeatureExtractor ex(FeatureState{}, fx.catalog);
  FeatureSlice before, at;
  for (std::int64_t i = 0; i <= 50; ++i) {
    FeatureSlice s = ex.extract(fx.make(i, spike_at_50));
    if (i == 49) before = s;
    if (i == 50) at = s;
  }
  const TokenSet& t = at.tokens[0];
  ASSERT_EQ(t.size(), 2u);  // one token per entity
  EXPECT_TRUE(at.mask.has(Modality::kMetrics));
  EXPECT_FALSE(at.mask.has(Modality::kTraces));
  EXPECT_EQ(t.dim, kMetricTokenDim);
  int slot = ex.state().kpi_slot("CpuUsageRate(%)");
  // pod_a is the first entity (smaller id): its cpu z is large and positive
  ASSERT_EQ(t.entities[0], fx.pod_a);
  EXPECT_GT(t.values[slot], 5.0f);
  EXPECT_LE(t.values[slot], static_cast<float>(FeatureOptions{}.z_clip));
  // pod_b stays at its baseline
  EXPECT_NEAR(t.values[t.dim + slot], 0.0f, 1e-3);
  // before the spike, pod_a's window partly includes 50 (window 49..51): positive as well
  EXPECT_GT(before.tokens[0].values[slot], 0.0f);
  EXPECT_EQ(t.kinds[0], 1 + static_cast<int>(EntityKind::kPod));
  // name pieces of the service, not of the pod hash
  EXPECT_EQ(t.pieces[0], piece_bucket("ts", FeatureOptions{}.hash_seed, FeatureOptions{}.name_buckets));
}

TEST(FeatureExtractor, UnsquashRecoversTheRobustZBelowTheClip) {
  // The tokens hold z linear to 3 and 3 + log(|z| - 2) beyond; the evidence quotes |z| itself.
  EXPECT_DOUBLE_EQ(unsquash_z(0.0), 0.0);
  EXPECT_DOUBLE_EQ(unsquash_z(-2.5), 2.5);
  EXPECT_NEAR(unsquash_z(3.0 + std::log(98.0)), 100.0, 1e-9);  // |z| 100 squashes to 3 + log(98)
  EXPECT_NEAR(unsquash_z(-(3.0 + std::log(998.0))), 1000.0, 1e-6);
  // a real token: a spike far beyond its baseline reads back as a z above the linear range, below the clip's
  Fixture fx;
  FeatureExtractor ex(FeatureState{}, fx.catalog);
  FeatureSlice at;
  for (std::int64_t i = 0; i <= 50; ++i) at = ex.extract(fx.make(i, spike_at_50));
  const float v = at.tokens[0].values[ex.state().kpi_slot("CpuUsageRate(%)")];
  EXPECT_GT(unsquash_z(v), 5.0);
  EXPECT_LE(unsquash_z(v), unsquash_z(FeatureOptions{}.z_clip));
}

// features.metric_latest_pane (off by default): a KPI that jumps in the window's last minute (its latest pane) is
// one point of three in the window's mean; with the option its z is also that of the last pane alone, scaled by
// sqrt(1 / 3) (so that without a fault it spreads as the mean does), and the larger counts. A jump that fills the
// window reads the same either way.
TEST(FeatureExtractor, MetricLatestPaneCountsAFaultsFirstMinute) {
  Fixture fx;
  FeatureState on_state;
  on_state.options.metric_latest_pane = true;
  FeatureExtractor off(FeatureState{}, fx.catalog), on(on_state, fx.catalog);
  const int slot = off.state().kpi_slot("CpuUsageRate(%)");
  for (std::int64_t i = 0; i <= 50; ++i) {
    const FeatureSlice a = off.extract(fx.make(i, spike_at_50)), b = on.extract(fx.make(i, spike_at_50));
    const double z_off = unsquash_z(a.tokens[0].values[slot]), z_on = unsquash_z(b.tokens[0].values[slot]);
    if (i < 48) {
      EXPECT_LT(z_on, 3.0) << "slice " << i << ": no jump, no deviation";
    } else if (i == 48) {  // minutes 48, 49 and 50: the jump is the latest pane
      EXPECT_GT(z_off, 5.0);
      // latest pane: (90 - m) / s * sqrt(1/3); window: (90 + 2 * ~10 - 3 m) / 3 / s, about (90 - m) / 3 / s
      EXPECT_NEAR(z_on / z_off, std::sqrt(3.0), 0.05) << z_on << " against " << z_off;
    } else if (i == 50) {  // the jump fills the window
      EXPECT_EQ(a.tokens[0].values, b.tokens[0].values);
    }
  }
  EXPECT_FALSE(FeatureOptions{}.metric_latest_pane);
}

TEST(FeatureExtractor, BaselineNeverSeesTheCurrentOrFutureWindow) {
  // Two runs that differ only from minute 52 on. Slices that END at or
  // before 52 must be identical: their features may not depend on later data.
  Fixture fx;
  FeatureExtractor a(FeatureState{}, fx.catalog), b(FeatureState{}, fx.catalog);
  for (std::int64_t i = 0; i <= 49; ++i) {
    FeatureSlice sa = a.extract(fx.make(i, flat));
    FeatureSlice sb = b.extract(fx.make(i, peek_probe));
    EXPECT_EQ(sa.tokens[0].values, sb.tokens[0].values) << "slice " << i;
  }
  // the slice [50, 53) contains minute 52: differs
  FeatureSlice sa = a.extract(fx.make(50, flat));
  FeatureSlice sb = b.extract(fx.make(50, peek_probe));
  EXPECT_NE(sa.tokens[0].values, sb.tokens[0].values);
}

TEST(FeatureExtractor, NoBaselineMeansZeroNotExtreme) {
  Fixture fx;
  FeatureExtractor ex(FeatureState{}, fx.catalog);
  FeatureSlice s = ex.extract(fx.make(0, spike_at_50));
  for (int k = 0; k < 2 * kKpiSlots; ++k) EXPECT_EQ(s.tokens[0].values[k], 0.0f);
}

// A series needs min_baseline past points before its z counts; metric_readiness tells how many of a slice's
// series got there (detect reports the data's first slices before that as its metric warm-up).
TEST(FeatureExtractor, MetricReadinessCountsTheSeriesWithABaseline) {
  Fixture fx;
  FeatureState state;
  state.options.min_baseline = 5;
  FeatureExtractor ex(state, fx.catalog);
  for (std::int64_t i = 0; i <= 8; ++i) {
    const FeatureSlice s = ex.extract(fx.make(i, flat));  // the baseline holds the points of minutes 0 .. i - 1
    EXPECT_EQ(metric_readiness(s), i >= 5 ? 1.0 : 0.0) << "slice " << i;
  }
  Slice no_metrics;
  no_metrics.index = 9;
  no_metrics.start = 9 * kUsPerMinute;
  no_metrics.end = 12 * kUsPerMinute;
  EXPECT_EQ(metric_readiness(ex.extract(no_metrics)), -1.0);
}

TEST(FeatureState, JsonRoundTripAndFrozenSlots) {
  FeatureState s;
  EXPECT_EQ(s.kpi_slot("a"), 0);
  EXPECT_EQ(s.kpi_slot("b"), 1);
  EXPECT_EQ(s.kpi_slot("a"), 0);
  s.key_names[42] = "x|y";
  FeatureState r = FeatureState::from_json(s.to_json());
  EXPECT_EQ(r.kpi_slots, s.kpi_slots);
  EXPECT_EQ(r.key_names.at(42), "x|y");
  r.frozen = true;
  int slot = r.kpi_slot("unseen KPI");
  EXPECT_GE(slot, 0);
  EXPECT_LT(slot, kKpiSlots);
  EXPECT_EQ(r.kpi_slots.size(), 2u);  // frozen: no new slot
  nlohmann::json bad = s.to_json();
  bad["token_dims"] = {1, 2, 3};
  EXPECT_THROW(FeatureState::from_json(bad), ModelError);
  EXPECT_THROW(FeatureState::from_json(nlohmann::json::object()), ModelError);
}

TEST(FlatFeatures, LayoutAndValues) {
  Fixture fx;
  FeatureExtractor ex(FeatureState{}, fx.catalog);
  std::vector<FeatureSlice> slices;
  for (std::int64_t i = 0; i <= 50; ++i) slices.push_back(ex.extract(fx.make(i, spike_at_50)));
  FlatLayout l = build_flat_layout(slices);
  EXPECT_EQ(l.metric_keys.size(), 2u);
  EXPECT_EQ(l.dim(), 2u * kKpiSlots + 6);
  auto v = flat_features(slices.back(), l);
  ASSERT_EQ(v.size(), l.dim());
  float mx = 0;
  for (float x : v) mx = std::max(mx, std::fabs(x));
  EXPECT_GT(mx, 5.0f);
  auto v0 = flat_features(slices[10], l);
  for (size_t k = 0; k + 6 < v0.size(); ++k) EXPECT_LT(std::fabs(v0[k]), 3.0f);
}

}  // namespace
}  // namespace rslicer

namespace rslicer {
namespace {

TEST(AdView, MasksTheModalitiesTheViewDoesNotSee) {
  FeatureSlice s;
  for (int m = 0; m < kNumModalities; ++m) {
    s.tokens[m].dim = 1;
    s.tokens[m].values = {1.0f};
    s.tokens[m].pieces.assign(kMaxPieces, 1);
    s.tokens[m].entities = {0};
    s.tokens[m].kinds = {1};
    s.tokens[m].keys = {42};
    s.mask.set(static_cast<Modality>(m));
  }
  auto has = [](const FeatureSlice& v, Modality m) {
    return v.mask.has(m) && v.tokens[static_cast<int>(m)].size() == 1;
  };
  const FeatureSlice all = ad_view_of(s, "all");
  EXPECT_TRUE(has(all, Modality::kMetrics) && has(all, Modality::kTraces) && has(all, Modality::kLogs));
  const FeatureSlice mt = ad_view_of(s, "metrics+traces");
  EXPECT_TRUE(has(mt, Modality::kMetrics) && has(mt, Modality::kTraces));
  EXPECT_FALSE(mt.mask.has(Modality::kLogs));
  EXPECT_EQ(mt.tokens[static_cast<int>(Modality::kLogs)].size(), 0u);
  const FeatureSlice m = ad_view_of(s, "metrics");
  EXPECT_TRUE(has(m, Modality::kMetrics));
  EXPECT_FALSE(m.mask.has(Modality::kTraces) || m.mask.has(Modality::kLogs));
  EXPECT_EQ(m.tokens[static_cast<int>(Modality::kTraces)].size(), 0u);
  EXPECT_THROW(ad_view_of(s, "logs"), InvalidInput);
}

}  // namespace
}  // namespace rslicer
