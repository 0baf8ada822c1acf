#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tasks/anomaly.h"
#include "tasks/raw_metrics.h"
#include "tasks/rootcause.h"
#include "tasks/spot.h"
#include "tasks/triage.h"

namespace rslicer {
namespace {

TEST(Spot, GpdFitRecoversExponentialAndParetoTails) {
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> ex(1.0 / 2.0);  // scale 2
  std::vector<double> y;
  for (int i = 0; i < 4000; ++i) y.push_back(ex(rng));
  GpdFit f = fit_gpd(y);
  EXPECT_NEAR(f.gamma, 0.0, 0.08);
  EXPECT_NEAR(f.sigma, 2.0, 0.2);
  // GPD with gamma = 0.3, sigma = 1 by inversion: y = sigma/gamma * (U^-gamma - 1).
  std::uniform_real_distribution<double> u(1e-12, 1.0);
  std::vector<double> z;
  for (int i = 0; i < 4000; ++i) z.push_back(1.0 / 0.3 * (std::pow(u(rng), -0.3) - 1));
  GpdFit g = fit_gpd(z);
  EXPECT_NEAR(g.gamma, 0.3, 0.07);
  EXPECT_NEAR(g.sigma, 1.0, 0.12);
}

TEST(Spot, ThresholdMatchesTheTailQuantile) {
  // Exponential(1) scores: the exact 1e-3 upper quantile is ln(1000) = 6.91.
  std::mt19937_64 rng(9);
  std::exponential_distribution<double> ex(1.0);
  std::vector<double> calib;
  for (int i = 0; i < 20000; ++i) calib.push_back(ex(rng));
  Spot spot({1e-3, 0.98, false});
  spot.fit(calib);
  EXPECT_NEAR(spot.threshold(), std::log(1000.0), 0.5);
  EXPECT_GT(spot.threshold(), spot.initial_threshold());
  auto alarms = spot.run({0.5, 3.0, 20.0});
  EXPECT_EQ(alarms, (std::vector<bool>{false, false, true}));
  // Published setting q = 0.1 > 1 - level: the threshold lies below the 0.95 quantile (about the 0.9 quantile).
  Spot pub({0.1, 0.95, true});
  pub.fit(calib);
  EXPECT_NEAR(pub.threshold(), std::log(10.0), 0.25);
}

TEST(KnnAnomalyHead, ScoresAnomaliesAboveNormalsPerState) {
  // Two states with different spreads: state 1 normals are 10x wider. A
  // state-aware head calibrates each, so a moderate deviation in state 0 is
  // flagged while the same absolute spread in state 1 is normal.
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g(0, 1);
  std::vector<float> refs;
  std::vector<TimeUs> times;
  std::vector<int> states;
  for (int i = 0; i < 200; ++i) {
    int s = i % 2;
    double sd = s == 0 ? 0.05 : 0.5;
    refs.push_back(static_cast<float>((s == 0 ? 0 : 10) + sd * g(rng)));
    refs.push_back(static_cast<float>(sd * g(rng)));
    times.push_back(static_cast<TimeUs>(i) * 600 * kUsPerSecond);
    states.push_back(s);
  }
  KnnAnomalyHead aware({5, true, 10, 180});
  aware.fit(refs, 2, times, states);
  KnnAnomalyHead global({5, false, 10, 180});
  global.fit(refs, 2, times, states);
  float dev0[2] = {0.5f, 0.0f};   // 10 sd off in state 0
  float norm1[2] = {10.5f, 0.0f}; // 1 sd in state 1
  double far = -1e15;
  EXPECT_GT(aware.score(dev0, 0, far), 3.0);
  EXPECT_LT(aware.score(norm1, 1, far), 2.0);
  EXPECT_GT(aware.score(dev0, 0, far), aware.score(norm1, 1, far));
  // The global head cannot tell them apart as well (single scale).
  EXPECT_LT(global.score(dev0, 0, far) / global.score(norm1, 1, far),
            aware.score(dev0, 0, far) / aware.score(norm1, 1, far));
}

TEST(Triage, KnnAndMajority) {
  std::vector<std::vector<float>> x = {{1, 0}, {0.9f, 0.1f}, {0, 1}, {0.1f, 0.9f}, {0.05f, 1}};
  std::vector<std::string> y = {"cpu", "cpu", "delay", "delay", "delay"};
  KnnTriageHead h({1, false, true});
  h.fit(x, y, {0, 0, 0, 0, 0});
  EXPECT_EQ(h.predict({0.95f, 0.0f}, 0), "cpu");
  EXPECT_EQ(h.predict({0.0f, 0.7f}, 0), "delay");
  // State-aware: only neighbours of state 1 are used when state 1 has training cases.
  KnnTriageHead hs({1, true, true});
  hs.fit(x, y, {1, 0, 0, 0, 0});
  EXPECT_EQ(hs.predict({0.0f, 1.0f}, 1), "cpu");
  MajorityTriage m;
  m.fit(y);
  EXPECT_EQ(m.predict(), "delay");
}

SliceEmbedding entity_slice(TimeUs start, const std::vector<std::vector<float>>& rows) {
  SliceEmbedding s;
  s.start = start;
  s.end = start + 180 * kUsPerSecond;
  s.entity_dim = static_cast<std::int32_t>(rows[0].size());
  for (size_t e = 0; e < rows.size(); ++e) {
    s.entities.push_back(static_cast<Id>(e));
    s.entity_embeddings.insert(s.entity_embeddings.end(), rows[e].begin(), rows[e].end());
  }
  return s;
}

TEST(RootCause, EmbeddingDeviationRanksTheChangedEntity) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> g(0, 0.05);
  std::vector<SliceEmbedding> refs, cases;
  auto row = [&](double cx) { return std::vector<float>{static_cast<float>(cx + g(rng)), static_cast<float>(g(rng))}; };
  for (int i = 0; i < 30; ++i) refs.push_back(entity_slice(i * 60 * kUsPerSecond, {row(0), row(1), row(2)}));
  // Entity 2 moves by 0.5 (10 sd); entity 0 moves by 0.1 (2 sd).
  for (int i = 0; i < 3; ++i) cases.push_back(entity_slice((40 + i) * 60 * kUsPerSecond, {row(0.1), row(1), row(2.5)}));
  std::vector<const SliceEmbedding*> cp, rp;
  for (auto& s : cases) cp.push_back(&s);
  for (auto& s : refs) rp.push_back(&s);
  std::vector<std::string> names = {"a-pod", "b-pod", "c-pod"}, kinds = {"pod", "pod", "pod"};
  EmbeddingRcaOptions o;
  auto r = rank_embedding(cp, std::vector<int>(3, 0), rp, std::vector<int>(30, 0), names, kinds, o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].entity, "c-pod");
  EXPECT_EQ(r[1].entity, "a-pod");
  // Kind filter.
  kinds[2] = "node";
  r = rank_embedding(cp, std::vector<int>(3, 0), rp, std::vector<int>(30, 0), names, kinds, o);
  EXPECT_EQ(r.size(), 2u);
}

TEST(RawMetrics, BaroAndNSigmaRankTheShiftedKpi) {
  MetricTable t;
  std::mt19937_64 rng(4);
  std::normal_distribution<double> g(0, 1);
  const TimeUs minute = 60 * kUsPerSecond;
  for (int m = 0; m < 70; ++m) {
    TimeUs ts = m * minute;
    t.add("svc-a-1", "svc-a", "pod", "cpu", ts, 50 + g(rng) + (m >= 60 ? 30 : 0));
    t.add("svc-b-1", "svc-b", "pod", "cpu", ts, 50 + 5 * g(rng));
    t.add("svc-b-1", "svc-b", "pod", "latency", ts, 100 + g(rng));
    t.add("node-1", "", "node", "cpu", ts, 20 + (m >= 60 ? 80 : 0));
  }
  t.finish();
  RawScoreOptions o;
  o.reference_s = 3600;
  auto baro = rank_raw(t, 60 * minute, o, "pod");
  ASSERT_EQ(baro.size(), 2u);
  EXPECT_EQ(baro[0].entity, "svc-a-1");
  EXPECT_EQ(baro[0].top_kpi, "cpu");
  o.robust = false;
  auto ns = rank_raw(t, 60 * minute, o, "pod");
  EXPECT_EQ(ns[0].entity, "svc-a-1");
  // Without a kind filter the node (flat then +80) wins.
  EXPECT_EQ(rank_raw(t, 60 * minute, o)[0].entity, "node-1");
  // Window score: high in the shifted part, low before.
  o.robust = true;
  EXPECT_GT(raw_window_score(t, 61 * minute, 64 * minute, o), 10);
  EXPECT_LT(raw_window_score(t, 40 * minute, 43 * minute, o), raw_window_score(t, 61 * minute, 64 * minute, o) / 3);
  auto v = raw_case_vector(t, 60 * minute, 63 * minute, o);
  EXPECT_GT(v.at("svc-a|cpu"), 5);
  EXPECT_LT(std::abs(v.at("svc-b|latency")), 5);
}

}  // namespace
}  // namespace rslicer
