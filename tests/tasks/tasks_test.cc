#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "core/errors.h"
#include "tasks/anomaly.h"
#include "tasks/evidence.h"
#include "tasks/raw_metrics.h"
#include "tasks/rootcause.h"
#include "tasks/spot.h"
#include "tasks/trace_evidence.h"
#include "tasks/triage.h"
#include "tasks/zero_label.h"

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

// Excesses with one tiny value (0.0001, as a score a hair over its initial threshold gives): Grimshaw's
// positive bound grows as 1 / the smallest excess, and an even grid over it stepped over the root near 0.4 (the
// fit fell back to a worse one, and SPOT's threshold moved by 10 %). The fit must be the maximum: no point of a
// fine (gamma, sigma) grid may have a higher likelihood.
TEST(Spot, GpdFitFindsTheMaximumWhenOneExcessIsTiny) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(1e-12, 1.0);
  std::vector<double> y;
  for (int i = 0; i < 78; ++i) y.push_back(1.1 / 0.43 * (std::pow(u(rng), -0.43) - 1));
  y.push_back(0.0001);
  auto ll = [&](double g, double s) {
    double r = -static_cast<double>(y.size()) * std::log(s);
    for (double v : y) {
      const double a = 1 + g * v / s;
      if (a <= 0) return -std::numeric_limits<double>::infinity();
      r -= (1 + 1 / g) * std::log(a);
    }
    return r;
  };
  double grid_best = -std::numeric_limits<double>::infinity();
  for (double g = -0.45; g <= 1.2; g += 0.01)
    for (double s = 0.2; s <= 3.0; s += 0.01)
      if (std::abs(g) > 1e-9) grid_best = std::max(grid_best, ll(g, s));
  const GpdFit f = fit_gpd(y);
  EXPECT_GE(f.log_likelihood, grid_best - 1e-6) << "gamma " << f.gamma << ", sigma " << f.sigma;
  EXPECT_GT(f.gamma, 0.1);
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

// Right-censored excesses: Exponential(1) values observed only up to 2 (beyond it, "at least 2"). The censored fit
// must be the likelihood's maximum (no point of a fine grid higher) and find the exponential again; the fit of the
// values below 2 alone sees a tail that ends there (gamma < 0). Without censored values it is fit_gpd.
TEST(Spot, CensoredGpdFitIsTheMaximumAndRecoversTheTail) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> ex(1.0);
  std::vector<double> y, c;
  for (int i = 0; i < 3000; ++i) {
    const double v = ex(rng);
    (v < 2 ? y : c).push_back(std::min(v, 2.0));
  }
  ASSERT_GT(c.size(), 300u);
  const GpdFit f = fit_gpd(y, c);
  EXPECT_NEAR(f.gamma, 0.0, 0.08);
  EXPECT_NEAR(f.sigma, 1.0, 0.1);
  EXPECT_LT(fit_gpd(y).gamma, -0.2) << "the values below the censoring point alone";
  auto ll = [&](double g, double s) {
    double r = -static_cast<double>(y.size()) * std::log(s);
    for (double v : y) r -= (1 + 1 / g) * std::log1p(g * v / s);
    for (double v : c) r -= std::log1p(g * v / s) / g;
    return r;
  };
  double grid_best = -std::numeric_limits<double>::infinity();
  for (double g = -0.2; g <= 0.2; g += 0.002)
    for (double s = 0.8; s <= 1.2; s += 0.002)
      if (std::abs(g) > 1e-9) grid_best = std::max(grid_best, ll(g, s));
  EXPECT_GE(f.log_likelihood, grid_best - 1e-6) << "gamma " << f.gamma << ", sigma " << f.sigma;
  const GpdFit plain = fit_gpd(y, {});
  EXPECT_DOUBLE_EQ(plain.gamma, fit_gpd(y).gamma);
  EXPECT_DOUBLE_EQ(plain.sigma, fit_gpd(y).sigma);
}

// A long stationary stream at q = 0.01 (Exponential(1) scores: the true threshold is ln 100 = 4.6). The published
// update leaves the alarms out, so the tail it fits ends at the threshold, and the threshold sinks: over 8000
// scores it alarms on more than twice q. With the alarms as censored peaks the rate stays near q, and a fault's
// run of 300 extreme scores in the middle moves the threshold little (censored peaks stop at q of the scores).
// Saved and loaded mid-stream, a censoring SPOT decides the same.
TEST(Spot, CensoredAlarmsKeepTheRiskOverALongStream) {
  std::mt19937_64 rng(21);
  std::exponential_distribution<double> ex(1.0);
  std::vector<double> calib, stream;
  for (int i = 0; i < 1000; ++i) calib.push_back(ex(rng));
  for (int i = 0; i < 8000; ++i) stream.push_back(ex(rng));
  auto late_rate = [&](Spot s, const std::vector<double>& xs, std::vector<bool>* out = nullptr) {
    s.fit(calib);
    const auto alarms = s.run(xs);
    if (out) *out = alarms;
    int n = 0, fired = 0;
    for (size_t i = xs.size() / 2; i < xs.size(); ++i)
      if (xs[i] < 50) ++n, fired += alarms[i];  // (the fault's scores are not counted)
    return std::make_pair(static_cast<double>(fired) / n, s);
  };
  const auto published = late_rate(Spot({0.01, 0.95, true, false}), stream);
  EXPECT_GT(published.first, 0.02) << "the published update's threshold sinks";
  EXPECT_LT(published.second.threshold(), 4.0);
  const auto censored = late_rate(Spot({0.01, 0.95, true, true}), stream);
  EXPECT_GT(censored.first, 0.004);
  EXPECT_LT(censored.first, 0.017);
  EXPECT_NEAR(censored.second.threshold(), std::log(100.0), 0.6);
  std::vector<double> with_fault = stream;
  for (int i = 4000; i < 4300; ++i) with_fault[i] = 60 + i % 7;
  const auto fault = late_rate(Spot({0.01, 0.95, true, true}), with_fault);
  EXPECT_LT(fault.first, 0.017);
  EXPECT_GT(fault.first, 0.002);
  EXPECT_NEAR(fault.second.threshold(), censored.second.threshold(), 0.6);
  // save and load mid-stream: the same decisions after
  Spot a({0.01, 0.95, true, true});
  a.fit(calib);
  const std::vector<double> first(stream.begin(), stream.begin() + 3000), rest(stream.begin() + 3000, stream.end());
  a.run(first);
  Spot b = Spot::from_json(a.to_json());
  EXPECT_EQ(b.run(rest), a.run(rest));
  // a state saved before the option: no censored peaks
  auto old = Spot({0.01, 0.95, true, true}).to_json();
  old.erase("censored");
  EXPECT_NO_THROW(Spot::from_json(old));
}

// The fitted tail's exceedance probability: Exponential(1) scores exceed x with probability exp(-x), beyond the
// largest calibration score too; the body (at or below t) is left to the calibration scores.
TEST(Spot, TailProbabilityFollowsTheFittedTail) {
  std::mt19937_64 rng(9);
  std::exponential_distribution<double> ex(1.0);
  std::vector<double> calib;
  for (int i = 0; i < 20000; ++i) calib.push_back(ex(rng));
  Spot spot({0.01, 0.95, true});
  spot.fit(calib);
  EXPECT_FALSE(spot.tail_probability(spot.initial_threshold()).has_value());
  EXPECT_FALSE(spot.tail_probability(1.0).has_value());
  for (double x : {4.0, 8.0}) {
    ASSERT_TRUE(spot.tail_probability(x).has_value()) << x;
    EXPECT_NEAR(std::log(*spot.tail_probability(x)), -x, 0.1 * x) << x;
  }
  EXPECT_LT(*spot.tail_probability(15.0), 1e-5) << "beyond the largest calibration score (about 10)";
  // at the alarm threshold it is the risk q
  EXPECT_NEAR(*spot.tail_probability(spot.threshold()), 0.01, 1e-9);
  // a bounded tail (uniform scores) falls off fast beyond its end
  std::vector<double> flat;
  for (int i = 0; i < 2000; ++i) flat.push_back(static_cast<double>(i) / 2000);
  Spot bounded({0.01, 0.9, false});
  bounded.fit(flat);
  EXPECT_LT(*bounded.tail_probability(1.5), 1e-4);
  EXPECT_NEAR(*bounded.tail_probability(0.95), 0.05, 0.02);  // (an ML fit at gamma = -1 is rough)
}

// A bounded score (here at most 3.5) whose calibration is mostly zeros with a few peaks near 2.5: the exponential
// tail fitted over t = 0 puts z_q far beyond 3.5, where nothing could ever alarm. With the ceiling given, the
// threshold is the largest calibration score: values above every calibration score alarm (a normal one does so
// with probability 1 / (n + 1) <= q). Without it, or where q (n + 1) < 1 cannot be kept, z_q stays.
TEST(Spot, AThresholdBeyondTheScoresCeilingFallsToTheLargestCalibrationScore) {
  std::vector<double> calib(350, 0.0);
  for (double v : {2.5, 2.5, 2.38, 2.38, 2.45, 2.5, 2.41, 2.5, 2.33, 2.5, 2.47, 2.5}) calib.push_back(v);
  const SpotOptions so{0.01 / 3, 0.95, true};
  Spot free(so);
  free.fit(calib);
  const double fitted = free.threshold();
  EXPECT_GT(fitted, 3.5) << "the fitted z_q: beyond the ceiling";
  EXPECT_FALSE(free.capped());
  EXPECT_EQ(free.run({3.2}), std::vector<bool>{false});
  Spot bounded(so);
  bounded.fit(calib, 3.5);
  EXPECT_TRUE(bounded.capped());
  EXPECT_DOUBLE_EQ(bounded.threshold(), 2.5);
  EXPECT_EQ(bounded.run({2.5, 1.0, 3.2, 2.6}), (std::vector<bool>{false, false, true, true}));
  EXPECT_DOUBLE_EQ(bounded.threshold(), 2.5) << "a peak below the ceiling refits, the bound holds";
  // saved and loaded, it decides the same
  Spot back = Spot::from_json(bounded.to_json());
  EXPECT_TRUE(back.capped());
  EXPECT_EQ(back.run({2.4, 3.0}), (std::vector<bool>{false, true}));
  // a ceiling above z_q changes nothing
  Spot high(so);
  high.fit(calib, 100);
  EXPECT_FALSE(high.capped());
  EXPECT_DOUBLE_EQ(high.threshold(), fitted);
  // q (n + 1) < 1: the largest of 362 scores cannot keep a risk of 1e-4, so z_q stays
  Spot strict({1e-4, 0.95, true});
  strict.fit(calib, 3.5);
  EXPECT_FALSE(strict.capped());
  EXPECT_GT(strict.threshold(), 3.5);
  // a state saved before the ceiling loads unbounded
  auto old = bounded.to_json();
  old.erase("ceiling");
  old.erase("largest");
  old.erase("capped");
  EXPECT_FALSE(Spot::from_json(old).capped());
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

TEST(KnnAnomalyHead, ItsCalibrationSkipsNeighboursMinutesApart) {
  // Normal state drifts slowly (one slice a minute for 10 hours). Scored against its neighbours minutes apart, a
  // training slice reads as closer to normal than a slice of the next hour ever will, so a head calibrated that
  // way alarms on ordinary drift; skipping references within an hour calibrates on distances a new slice meets.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 0.001);
  std::vector<float> refs;
  std::vector<TimeUs> times;
  std::vector<int> states;
  for (int i = 0; i < 600; ++i) {
    refs.push_back(static_cast<float>(0.01 * i + g(rng)));
    refs.push_back(static_cast<float>(g(rng)));
    times.push_back(static_cast<TimeUs>(i) * 60 * kUsPerSecond);
    states.push_back(0);
  }
  AnomalyOptions nearby{5, false, 10, 180};
  nearby.calibration_exclusion_s = 0;  // the neighbours beyond exclusion_s calibrate (before this option)
  nearby.whiten = false;               // distances along the drift as drawn
  KnnAnomalyHead in_sample(nearby);
  in_sample.fit(refs, 2, times, states);
  AnomalyOptions apart = nearby;
  apart.calibration_exclusion_s = AnomalyOptions{}.calibration_exclusion_s;  // 3600 (the default)
  KnnAnomalyHead hour_apart(apart);
  hour_apart.fit(refs, 2, times, states);
  const TimeUs later = times.back() + 3600 * kUsPerSecond;
  float drifted[2] = {0.01f * 599 + 0.3f, 0.0f};  // half an hour more of the same drift
  float broken[2] = {0.01f * 300, 5.0f};          // far off the normal line
  EXPECT_GT(in_sample.score(drifted, 0, later), 3.0);
  EXPECT_LT(hour_apart.score(drifted, 0, later), 1.5);
  EXPECT_GT(hour_apart.score(broken, 0, later), 3.0);
  // a scored slice is never calibrating: the option changes the scale only
  EXPECT_NEAR(hour_apart.raw_score(drifted, 0, later), in_sample.raw_score(drifted, 0, later), 1e-9);

  // An hour of references (63 slices): at most 3 lie an hour from a slice, and the nearer ones farthest in time
  // fill up to k, so the calibration still skips the neighbours minutes apart; so does half an hour, with none
  for (const int n : {63, 30}) {
    std::vector<float> few(refs.begin(), refs.begin() + 2 * n);
    std::vector<TimeUs> few_t(times.begin(), times.begin() + n);
    std::vector<int> few_s(n, 0);
    KnnAnomalyHead short_old(nearby), short_new(apart);
    short_old.fit(few, 2, few_t, few_s);
    short_new.fit(few, 2, few_t, few_s);
    float probe[2] = {0.01f * n + 0.1f, 0.0f};
    EXPECT_TRUE(std::isfinite(short_new.score(probe, 0, later))) << n;
    EXPECT_LT(short_new.score(probe, 0, later), 0.5 * short_old.score(probe, 0, later)) << n;
  }
}

TEST(KnnAnomalyHead, WhiteningWeighsDirectionsByTheirNormalSpread) {
  // Normal references spread about 100 times wider along their line than across it: a small step off the line is
  // a larger anomaly than a rare point on it. Plain distances rank them the other way round; whitened
  // (Mahalanobis) ones do not.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0, 1);
  std::vector<float> refs;
  std::vector<TimeUs> times;
  for (int i = 0; i < 400; ++i) {
    const double a = g(rng), b = g(rng);
    refs.push_back(static_cast<float>(1.0 * a + 0.01 * b));  // correlated axes: a full covariance, not a diagonal
    refs.push_back(static_cast<float>(0.5 * a + 0.02 * b));
    times.push_back(static_cast<TimeUs>(i) * 3600 * kUsPerSecond);
  }
  const std::vector<int> states(times.size(), 0);
  AnomalyOptions white_o;
  white_o.whiten = true;  // opt-in (heads.ad.whiten)
  KnnAnomalyHead plain, white(white_o);
  plain.fit(refs, 2, times, states);
  white.fit(refs, 2, times, states);
  EXPECT_FALSE(plain.whitened());
  EXPECT_TRUE(white.whitened());
  const TimeUs later = times.back() + 86400 * kUsPerSecond;
  // a rare but normal point far out on the normal line (x = 2y, 2.5 sd), and an ordinary one stepped off the line
  // by 0.05 (about 5 sd of the spread across it)
  float along[2] = {2.5f, 1.25f}, across[2] = {0.3f - 0.022f, 0.15f + 0.045f};
  EXPECT_GT(plain.score(along, 0, later), plain.score(across, 0, later));  // plain: the rare normal point first
  EXPECT_GT(white.score(across, 0, later), 3 * white.score(along, 0, later));
  EXPECT_LT(white.score(along, 0, later), 3.0);

  // The model file keeps the choice; a head saved before the option stays Euclidean.
  const KnnAnomalyHead back = KnnAnomalyHead::from_json(white.to_json());
  EXPECT_TRUE(back.whitened());
  EXPECT_NEAR(back.score(across, 0, later), white.score(across, 0, later), 1e-6);
  nlohmann::json old = white.to_json();
  old["options"].erase("whiten");
  old["options"].erase("whiten_ridge");
  EXPECT_FALSE(KnnAnomalyHead::from_json(old).whitened());
  // The references are saved as base64 of their float32 values; the arrays of numbers that heads saved before
  // 2026-12-08 hold read the same, and a malformed string is an error naming them.
  const nlohmann::json saved = nlohmann::json::parse(white.to_json().dump());
  ASSERT_TRUE(saved["references"].is_string());
  nlohmann::json as_array = saved;
  as_array["references"] = refs;
  EXPECT_NEAR(KnnAnomalyHead::from_json(as_array).score(across, 0, later), white.score(across, 0, later), 1e-6);
  nlohmann::json broken = saved;
  broken["references"] = "AACA";
  try {
    KnnAnomalyHead::from_json(broken);
    ADD_FAILURE() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("anomaly head: references"), std::string::npos) << e.what();
  }
  // Fewer than ten references per dimension: too few for a covariance, plain distances.
  KnnAnomalyHead few(white_o);
  few.fit(std::vector<float>(refs.begin(), refs.begin() + 6), 2, std::vector<TimeUs>(times.begin(), times.begin() + 3),
          std::vector<int>(3, 0));
  EXPECT_FALSE(few.whitened());
}

TEST(KnnAnomalyHead, AddedReferencesServeLikeFittedOnes) {
  // Normal references around the origin; a new normal level far from them reads as anomalous until references at
  // that level are added (a stream's normal time after training), and then reads as the fitted ones do. The
  // scale stays the fit's; past online_max the oldest added reference goes; whitened heads add them whitened.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0, 1);
  std::vector<float> refs;
  std::vector<TimeUs> times;
  for (int i = 0; i < 200; ++i) {
    refs.push_back(static_cast<float>(g(rng)));
    refs.push_back(static_cast<float>(g(rng)));
    times.push_back(static_cast<TimeUs>(i) * 3600 * kUsPerSecond);
  }
  const std::vector<int> states(times.size(), 0);
  for (const bool whiten : {false, true}) {
    AnomalyOptions o;
    o.whiten = whiten;
    o.online_max = 190;
    KnnAnomalyHead h(o);
    h.fit(refs, 2, times, states);
    ASSERT_EQ(h.whitened(), whiten);
    const TimeUs later = times.back() + 86400 * kUsPerSecond;
    float moved[2] = {10.0f, 10.0f}, origin[2] = {0.0f, 0.0f};
    const double before = h.score(moved, 0, later), typical = h.score(origin, 0, later);
    EXPECT_GT(before, 5.0) << whiten;
    for (int i = 0; i < 200; ++i) {
      float x[2] = {static_cast<float>(10 + g(rng)), static_cast<float>(10 + g(rng))};
      h.add_reference(x, 0, later - (200 - i) * 3600 * kUsPerSecond);
    }
    EXPECT_EQ(h.added_references(), 190u) << "the oldest ten went";
    EXPECT_EQ(h.references(), 390u);
    EXPECT_EQ(h.added_to_json()["times"][0].get<TimeUs>(), later - 190 * 3600 * kUsPerSecond);
    // carried across a restart: all or none, and only into a head with the same fitted references
    KnnAnomalyHead again(o), other(o);
    again.fit(refs, 2, times, states);
    std::vector<float> shifted = refs;
    shifted[0] += 1.0f;
    other.fit(shifted, 2, times, states);
    nlohmann::json bad = h.added_to_json();
    bad["states"][5] = -1;
    EXPECT_THROW(again.add_added(bad), ModelError);
    EXPECT_EQ(again.added_references(), 0u) << "nothing taken from a malformed object";
    EXPECT_THROW(other.add_added(h.added_to_json()), ModelError) << "another model's";
    again.add_added(h.added_to_json());
    EXPECT_EQ(again.added_references(), 190u);
    EXPECT_EQ(again.score(moved, 0, later), h.score(moved, 0, later));
    EXPECT_LT(h.score(moved, 0, later), 2.0) << whiten;
    EXPECT_NEAR(h.score(origin, 0, later), typical, 1e-9) << "the fitted references and scale stay";
    // a reference of a state the fit never saw is kept and searched with the global set
    h.add_reference(moved, 3, later - 7200 * kUsPerSecond);
    EXPECT_TRUE(std::isfinite(h.score(moved, 3, later)));
    EXPECT_THROW(h.add_reference(moved, -1, later), InvalidInput);
  }
}

TEST(Triage, KnnAndMajority) {
  std::vector<std::vector<float>> x = {{1, 0}, {0.9f, 0.1f}, {0, 1}, {0.1f, 0.9f}, {0.05f, 1}};
  std::vector<std::string> y = {"cpu", "cpu", "delay", "delay", "delay"};
  TriageHead h({1, false, true});
  h.fit(x, y, {0, 0, 0, 0, 0});
  EXPECT_EQ(h.predict({0.95f, 0.0f}, 0), "cpu");
  EXPECT_EQ(h.predict({0.0f, 0.7f}, 0), "delay");
  // State-aware: only neighbours of state 1 are used when state 1 has training cases.
  TriageHead hs({1, true, true});
  hs.fit(x, y, {1, 0, 0, 0, 0});
  EXPECT_EQ(hs.predict({0.0f, 1.0f}, 1), "cpu");
  MajorityTriage m;
  m.fit(y);
  EXPECT_EQ(m.predict(), "delay");
}

// Pairs of cases that share a large "noise" pattern and differ only in one coordinate, which alone carries
// the class: every case's nearest neighbour is its pair of the other class, so the kNN is wrong on all of them,
// while the logistic regression weighs the one informative coordinate.
TEST(Triage, LogisticRegressionFindsTheInformativeDirectionWhereNeighboursMislead) {
  std::vector<std::vector<float>> x;
  std::vector<std::string> y;
  for (int i = 0; i < 6; ++i) {
    const std::vector<float> noise = {3.0f * std::cos(1.1f * i), 3.0f * std::sin(1.1f * i), 2.0f + 0.5f * i,
                                      static_cast<float>(i % 3)};
    for (int cls = 0; cls < 2; ++cls) {
      std::vector<float> v = {static_cast<float>(cls)};
      v.insert(v.end(), noise.begin(), noise.end());
      x.push_back(v);
      y.push_back(cls ? "delay" : "cpu");
    }
  }
  const std::vector<int> states(x.size(), 0);
  TriageOptions knn;
  knn.neighbors = 1;
  TriageOptions logistic;
  logistic.model = "logistic";
  logistic.l2 = 0.001;
  EXPECT_EQ(loo_accuracy(x, y, states, knn), 0.0);
  EXPECT_EQ(loo_accuracy(x, y, states, logistic), 1.0);

  const TriageChoice choice = choose_triage(x, y, states, {knn, logistic});
  EXPECT_EQ(choice.options.model, "logistic");
  EXPECT_EQ(choice.accuracy, 1.0);

  TriageHead h(logistic);
  h.fit(x, y, states);
  std::vector<float> probe = {1.0f, -1.0f, 2.5f, 2.0f, 1.0f};  // a noise pattern no training case has
  auto [label, confidence] = h.predict_with_confidence(probe, 0);
  EXPECT_EQ(label, "delay");
  EXPECT_GT(confidence, 0.5);
  EXPECT_LE(confidence, 1.0);
  probe[0] = 0.0f;
  EXPECT_EQ(h.predict(probe, 0), "cpu");

  // saved and loaded, it decides the same with the same confidence
  const TriageHead back = TriageHead::from_json(nlohmann::json::parse(h.to_json().dump()));
  EXPECT_EQ(back.options().model, "logistic");
  probe[0] = 1.0f;
  auto [label2, confidence2] = back.predict_with_confidence(probe, 0);
  EXPECT_EQ(label2, label);
  EXPECT_DOUBLE_EQ(confidence2, confidence);
}

TEST(Triage, ChooseTriageWithoutCandidatesChoosesNothing) {
  EXPECT_EQ(choose_triage({{1.0f}, {0.0f}}, {"a", "b"}, {0, 0}, {}).accuracy, -1.0);
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
  const RcaInputs in{cp, std::vector<int>(3, 0), rp, std::vector<int>(30, 0), &names, &kinds};
  auto r = rank_embedding(in, o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].entity, "c-pod");
  EXPECT_EQ(r[1].entity, "a-pod");
  // Kind filter.
  kinds[2] = "node";
  r = rank_embedding(in, o);
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

TEST(RawMetrics, DegenerateKpisAreSkippedAndTheScaleHasARelativeFloor) {
  // svc-b's latency is 0 / missing in most of the normal hour with huge spikes (as the Nezha pod
  // latency columns): without the rules it outranks svc-a's CPU jumping 5 -> 500.
  MetricTable t;
  const TimeUs minute = 60 * kUsPerSecond;
  for (int m = 0; m < 65; ++m) {
    TimeUs ts = m * minute;
    t.add("svc-a-1", "svc-a", "pod", "cpu", ts, m >= 60 ? 500 : 5 + (m % 3));
    t.add("svc-b-1", "svc-b", "pod", "cpu", ts, 50 + (m % 5));
    if (m % 3 == 0) t.add("svc-b-1", "svc-b", "pod", "latency_missing", ts, m >= 60 ? 3.6e8 : 0.01);
    t.add("svc-b-1", "svc-b", "pod", "latency_zero", ts, m >= 60 ? 3.6e8 : (m % 4 == 0 ? 0.02 : 0.0));
  }
  t.finish();
  RawScoreOptions o;
  std::vector<double> normal(30, 0.0);
  EXPECT_TRUE(degenerate_kpi(normal, 30, o));  // all zero
  normal.assign(10, 1.0);
  EXPECT_TRUE(degenerate_kpi(normal, 30, o));  // two thirds missing
  normal.assign(30, 1.0);
  EXPECT_FALSE(degenerate_kpi(normal, 30, o));
  for (bool robust : {true, false}) {
    o.robust = robust;
    auto r = rank_raw(t, 60 * minute, o, "pod");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].entity, "svc-a-1") << robust;
    EXPECT_EQ(r[0].top_kpi, "cpu");
    EXPECT_EQ(r[1].top_kpi, "cpu");  // both latency columns were skipped
    // With the rules off the spiky latency wins (the failure they fix).
    RawScoreOptions off = o;
    off.max_missing_share = 1.0;
    off.max_zero_share = 1.0;
    EXPECT_EQ(rank_raw(t, 60 * minute, off, "pod")[0].entity, "svc-b-1") << robust;
    // KPI name filters.
    RawScoreOptions only = o;
    only.only_kpis_containing = "latency";
    only.max_missing_share = 1.0;
    only.max_zero_share = 1.0;
    auto lat = raw_entity_scores(t, 60 * minute, only, "pod");
    EXPECT_EQ(lat.count("svc-a-1"), 0u);
    EXPECT_NE(lat.at("svc-b-1").top_kpi.find("latency"), std::string::npos);
  }
  // Relative floor: a flat KPI at 20 moving to 22 is z = 2 / (0.1 x 20) = 1, not 2 / 1 (zero-IQR rule).
  MetricTable flat;
  for (int m = 0; m < 65; ++m) flat.add("n", "", "pod", "x", m * minute, m >= 60 ? 22 : 20);
  flat.finish();
  RawScoreOptions f;
  EXPECT_NEAR(rank_raw(flat, 60 * minute, f)[0].score, 2.0, 1e-9);
  f.min_rel_scale = 0.1;
  EXPECT_NEAR(rank_raw(flat, 60 * minute, f)[0].score, 1.0, 1e-9);
  // A flat KPI at 0.004 (a latency in seconds) gets scale 0.0004, not 1.
  MetricTable small;
  for (int m = 0; m < 65; ++m) small.add("n", "", "pod", "x", m * minute, m >= 60 ? 0.008 : 0.004);
  small.finish();
  EXPECT_NEAR(rank_raw(small, 60 * minute, f)[0].score, 10.0, 1e-6);
}

TEST(TraceEvidence, SelfTimeSubtractsDirectChildren) {
  auto span = [](std::string trace, std::string id, std::string parent, std::int64_t dur, Id entity) {
    Span s;
    s.trace_id = trace;
    s.span_id = id;
    s.parent_id = parent;
    s.duration_us = dur;
    s.entity = entity;
    return s;
  };
  // root(100) -> a(60) -> b(50); root -> c(30); another trace reuses span id "a".
  std::vector<Span> spans = {span("t1", "root", "", 100, 0), span("t1", "a", "root", 60, 1),
                             span("t1", "b", "a", 50, 2),    span("t1", "c", "root", 30, 2),
                             span("t2", "a", "", 40, 1),     span("t2", "x", "a", 70, 2)};
  auto self = span_self_times(spans);
  ASSERT_EQ(self.size(), spans.size());
  EXPECT_EQ(self[0], 10);  // 100 - 60 - 30
  EXPECT_EQ(self[1], 10);  // 60 - 50
  EXPECT_EQ(self[2], 50);
  EXPECT_EQ(self[3], 30);
  EXPECT_EQ(self[4], 0);   // clamped: an async child outlived its parent
  EXPECT_EQ(self[5], 70);
}

TEST(TraceEvidence, CaseFeaturesCompareTheWindowWithTheEntitysProfile) {
  const TimeUs minute = 60 * kUsPerSecond;
  TraceTable t;
  std::vector<std::string> names = {"front", "slow", "errs"};
  for (int m = 0; m < 10; ++m) {
    bool in_case = m >= 6 && m < 9;
    std::vector<Span> spans;
    for (int k = 0; k < 20; ++k) {
      std::string tr = std::to_string(m) + "-" + std::to_string(k);
      Span root;
      root.trace_id = tr;
      root.span_id = "r";
      root.entity = 0;
      root.start = m * minute + k;
      Span child = root;
      child.span_id = "c";
      child.parent_id = "r";
      child.entity = 1;
      child.duration_us = in_case ? 5000 : 1000;  // "slow" has 5x self time in the case
      root.duration_us = child.duration_us + 200;
      spans.push_back(root);
      spans.push_back(child);
    }
    t.add_spans(spans, names);
    for (int k = 0; k < (in_case ? 30 : 1); ++k) t.add_log("errs", m * minute + k, in_case ? LogLevel::kError : LogLevel::kInfo);
    if (in_case) t.add_error_mention("slow", m * minute + 5);
  }
  auto f = trace_case_features(t, 6 * minute, 9 * minute, 5 * minute, 10 * minute);
  ASSERT_EQ(f.size(), 3u);
  ASSERT_EQ(f.at("slow").features.size(), static_cast<size_t>(kTraceFeatureCount));
  EXPECT_GT(f.at("slow").features[0], 1.0);              // log((5000 + 100) / (1000 + 100))
  EXPECT_NEAR(f.at("front").features[0], 0.0, 1e-9);     // its self time did not change
  EXPECT_GT(f.at("errs").features[2], 3.0);              // 30 ERROR lines a minute vs none
  EXPECT_EQ(f.at("slow").features[2], 0.0);
  EXPECT_NEAR(f.at("slow").features[5], std::log1p(1.0), 1e-9);  // one error mention a minute vs none
  EXPECT_EQ(f.at("errs").features[5], 0.0);
  // "slow" is called by "front", whose self time (200 us) did not change: no blame on the link.
  EXPECT_NEAR(f.at("slow").features[6], 0.0, 1e-9);
  EXPECT_EQ(f.at("front").features[6], 0.0);  // nobody calls the root
  // Outside the case the profile is normal: the features of a normal window are near 0.
  auto g = trace_case_features(t, 1 * minute, 4 * minute, 1 * minute, 4 * minute);
  EXPECT_NEAR(g.at("slow").features[0], 0.0, 1e-9);
  EXPECT_EQ(g.at("errs").features[2], 0.0);
}

// The calibration archive of a long live stream thins itself: half the rows, every other value of each signal,
// so the share of rows at or above a value (what a surprise is) stays about the same.
TEST(CalibrationArchive, ThinningHalvesRowsAndKeepsEveryOtherValue) {
  CalibrationArchive a{1000, {{1, 2, 3, 4, 5}, {7}, {}}, {}, {}};
  a.thin();
  EXPECT_EQ(a.rows, 500);
  EXPECT_EQ(a.values[0], (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(a.values[1], (std::vector<double>{7}));
  EXPECT_TRUE(a.values[2].empty());
}

// A call-edge deviation: calls from `caller_pod`'s service into `callee` with start lag z `lag` (and the same
// caller-minus-callee z).
EventDeviation lag_edge(const Catalog& cat, Id caller_pod, Id callee, double lag) {
  EventDeviation dv;
  dv.kind = EventKind::kEdge;
  dv.entity = callee;
  dv.caller = cat.service_of(caller_pod);
  dv.key = 1000 + 100 * static_cast<std::uint64_t>(caller_pod) + callee;
  dv.z_a = lag;
  dv.z_b = lag;
  return dv;
}

// `n` slices in which each of `pods` has trace tokens.
std::vector<FeatureSlice> trace_slices(size_t n, std::initializer_list<Id> pods) {
  std::vector<FeatureSlice> slices(n);
  for (auto& s : slices)
    for (Id p : pods) s.tokens[static_cast<int>(Modality::kTraces)].entities.push_back(p);
  return slices;
}

// `ranked` puts `e` first with a clear signal and nobody else near it.
void expect_alone_first(const std::vector<ZeroLabelScore>& ranked, Id e, const Catalog& cat) {
  ASSERT_FALSE(ranked.empty());
  EXPECT_EQ(ranked[0].entity, e);
  EXPECT_GT(ranked[0].score, 1.0);
  for (size_t k = 1; k < ranked.size(); ++k) EXPECT_LT(ranked[k].score, 0.5) << cat.entities.name(ranked[k].entity);
}

// Lagging calls are charged to the end that explains more of them. A pod whose requests leave late makes every
// call it sends lag: those lags are its own, not each callee's. A callee whose only lagging call is from a caller
// that lags with nobody else keeps its lag, as before, and so do the callees of a hub that lags with few of the
// services it calls.
TEST(ZeroLabel, LaggingCallsToSeveralServicesAreChargedToTheCaller) {
  Catalog cat;
  const Id front = cat.entity("front-0", EntityKind::kPod, "front");
  const Id a = cat.entity("a-0", EntityKind::kPod, "a");
  const Id b = cat.entity("b-0", EntityKind::kPod, "b");
  const Id c = cat.entity("c-0", EntityKind::kPod, "c");
  const Id d = cat.entity("d-0", EntityKind::kPod, "d");
  const Id e = cat.entity("e-0", EntityKind::kPod, "e");
  const Id f = cat.entity("f-0", EntityKind::kPod, "f");
  const Id g = cat.entity("g-0", EntityKind::kPod, "g");
  const Id h = cat.entity("h-0", EntityKind::kPod, "h");
  auto edge = [&](Id caller_pod, Id callee, double lag) { return lag_edge(cat, caller_pod, callee, lag); };
  // front calls a, e, f, g and h; a calls b, c and d. 60 normal slices in which every call has a small lag,
  // then three faulty ones.
  auto calls = [&](double front_a, double a_out, double front_e) {
    return std::vector<EventDeviation>{edge(front, a, front_a), edge(a, b, a_out),       edge(a, c, a_out),
                                       edge(a, d, a_out),       edge(front, e, front_e), edge(front, f, 0.5),
                                       edge(front, g, 0.5),     edge(front, h, 0.5)};
  };
  const auto slices = trace_slices(63, {front, a, b, c, d, e, f, g, h});
  std::vector<std::vector<EventDeviation>> devs(slices.size(), calls(0.5, 0.5, 0.5));
  devs[60] = calls(0.5, 20, 0.5);  // a's requests leave late (its calls to b, c and d lag); the call into it does not
  devs[61] = calls(0.5, 0.5, 20);  // only the call into e lags (front lags with e alone): e's, as before
  devs[62] = calls(20, 0.5, 20);   // front lags with a and e, 2 of the 5 services it calls: theirs, not front's
  // the evidence says how many calls a quoted time rests on (sampled traces leave single calls)
  for (int k = 1; k <= 3; ++k) devs[60][k].calls_a = devs[60][k].calls_b = 1;
  devs[61][4].calls_a = devs[61][4].calls_b = 12;
  ZeroLabelOptions o;
  o.kind = "";
  o.metrics = false;
  const auto r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto late_sender = r.rank({60});
  expect_alone_first(late_sender, a, cat);
  const std::unordered_map<std::uint64_t, std::string> names = {{lag_edge(cat, a, b, 0).key, "a -> b|GET /b"},
                                                                 {lag_edge(cat, a, c, 0).key, "a -> c|GET /c"},
                                                                 {lag_edge(cat, a, d, 0).key, "a -> d|GET /d"}};
  const auto why = r.explain(late_sender[0], {60}, names, {});
  ASSERT_FALSE(why.empty());
  EXPECT_NE(why[0].find("calls from a to GET /"), std::string::npos) << why[0];
  EXPECT_NE(why[0].find(" (1 call), "), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("charged to the caller: its calls lag or wait with 3 services"), std::string::npos) << why[0];
  const auto slow_callee = r.rank({61});
  ASSERT_FALSE(slow_callee.empty());
  EXPECT_EQ(slow_callee[0].entity, e);
  EXPECT_GT(slow_callee[0].score, 1.0);
  const auto why_e = r.explain(slow_callee[0], {61}, {{lag_edge(cat, front, e, 0).key, "front -> e|GET /e"}}, {});
  ASSERT_FALSE(why_e.empty());
  EXPECT_NE(why_e[0].find("GET /e: start lag "), std::string::npos) << why_e[0];
  EXPECT_NE(why_e[0].find(" (median of 12 calls), "), std::string::npos) << why_e[0];
  // ... and how many of them slowed: all of them (a delay on the wire), or a part (lost packets, retransmitted)
  for (const auto& [share, text] : std::vector<std::pair<double, std::string>>{
           {0.75, " (median of 12 calls, 9 of them slowed), "}, {1.0, " (median of 12 calls, all slowed), "}}) {
    devs[61][4].slow_a = share;
    const auto refit = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
    const auto why_slowed =
        refit.explain(refit.rank({61})[0], {61}, {{lag_edge(cat, front, e, 0).key, "front -> e|GET /e"}}, {});
    ASSERT_FALSE(why_slowed.empty());
    EXPECT_NE(why_slowed[0].find(text), std::string::npos) << why_slowed[0];
  }
  const auto hub = r.rank({62});
  ASSERT_GE(hub.size(), 2u);
  EXPECT_TRUE((hub[0].entity == a && hub[1].entity == e) || (hub[0].entity == e && hub[1].entity == a));
  // without the call-edge signals nothing is charged to anyone
  o.call_edges = false;
  EXPECT_LT(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).rank({60})[0].score, 0.5);
}

// A CPU-starved caller handles its replies late: its calls to several services show the caller waiting beyond
// each callee's own time, with no start lag. Those waits are its own, as with lag.
TEST(ZeroLabel, WaitingOnSeveralServicesIsChargedToTheCaller) {
  Catalog cat;
  const Id a = cat.entity("a-0", EntityKind::kPod, "a");
  const Id b = cat.entity("b-0", EntityKind::kPod, "b");
  const Id c = cat.entity("c-0", EntityKind::kPod, "c");
  const Id d = cat.entity("d-0", EntityKind::kPod, "d");
  auto waits = [&](double w) {
    std::vector<EventDeviation> out;
    for (Id callee : {b, c, d}) {
      EventDeviation dv = lag_edge(cat, a, callee, 0.5);
      dv.z_b = w;
      out.push_back(dv);
    }
    return out;
  };
  const auto slices = trace_slices(61, {a, b, c, d});
  std::vector<std::vector<EventDeviation>> devs(slices.size(), waits(0.5));
  devs[60] = waits(20);
  ZeroLabelOptions o;
  o.kind = "";
  o.metrics = false;
  expect_alone_first(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).rank({60}), a, cat);
}

// The top of a call-time signal's calibration is where the data's other faults sit, so its rank alone scores a
// call that lags at z 40 like one at z 400. Beyond the 99.9th percentile of the rows the surprise follows a
// power-law tail fitted through the 99th and 99.9th percentiles: never below the rank surprise, continuous where
// the tail begins, and larger for the larger lag.
TEST(ZeroLabel, CallTimesBeyondTheCalibrationsBodyKeepTheirMagnitude) {
  Catalog cat;
  const Id cx = cat.entity("cx-0", EntityKind::kPod, "cx"), x = cat.entity("x-0", EntityKind::kPod, "x");
  const Id cy = cat.entity("cy-0", EntityKind::kPod, "cy"), y = cat.entity("y-0", EntityKind::kPod, "y");
  const Id cw = cat.entity("cw-0", EntityKind::kPod, "cw"), w = cat.entity("w-0", EntityKind::kPod, "w");
  const Id pods[] = {cx, x, cy, y, cw, w};
  // 4,000 slices (24,000 rows): every call lags a little (a Pareto body: z 0.1 / sqrt(1 - u), 3.2 at its 99.9th
  // percentile), ten earlier faults lag at z 30 into w, and the last slice is the case: x's calls lag at z 40,
  // y's at z 400.
  const size_t n = 4000;
  std::vector<FeatureSlice> slices(n);
  std::vector<std::vector<EventDeviation>> devs(n);
  for (size_t i = 0; i < n; ++i) {
    for (Id p : pods) slices[i].tokens[static_cast<int>(Modality::kTraces)].entities.push_back(p);
    size_t k = 0;
    for (auto [caller, callee] : {std::pair{cx, x}, std::pair{cy, y}, std::pair{cw, w}}) {
      const double u = std::fmod(0.6180339887 * static_cast<double>(3 * i + k++), 1.0);
      devs[i].push_back(lag_edge(cat, caller, callee, 0.1 / std::sqrt(1.0 - u)));
    }
  }
  for (size_t i = 100; i < 110; ++i) devs[i][2] = lag_edge(cat, cw, w, 30);
  const size_t at = n - 1;
  devs[at] = {lag_edge(cat, cx, x, 40), lag_edge(cat, cy, y, 400), lag_edge(cat, cw, w, 0.05)};
  ZeroLabelOptions o;
  o.kind = "";
  o.metrics = false;
  const auto r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  auto score_of = [](const std::vector<ZeroLabelScore>& ranked, Id e) {
    for (const auto& z : ranked)
      if (z.entity == e) return z.score;
    return -1.0;
  };
  const auto rank_only = r.rank({at}, false), tail = r.rank({at});
  // the rank alone: both are beyond every other value of the data, a hair apart
  EXPECT_NEAR(score_of(rank_only, x), score_of(rank_only, y), 0.2);
  EXPECT_GT(score_of(rank_only, x), 3.0);
  // the tail: y first, well ahead, and neither below its rank surprise
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail[0].entity, y);
  EXPECT_GT(score_of(tail, y), score_of(tail, x) + 1.0);
  EXPECT_GE(score_of(tail, x), score_of(rank_only, x));
  // an earlier fault's z 30: beyond the body too, between the body's top and the case's lags
  const double earlier = score_of(r.rank({100}), w);
  EXPECT_GE(earlier, score_of(r.rank({100}, false), w));
  EXPECT_LT(earlier, score_of(tail, x));
  // options.tail_extrapolation = false is the rank alone
  o.tail_extrapolation = false;
  EXPECT_EQ(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).rank({at})[0].score, rank_only[0].score);
}

// The event AD score reads the call times' alarm z (EventDeviation::alarm_z_a, bounded by how likely so few calls
// are), root cause ranking the robust z. A lone slow call (z 40, but no rarer than one call in 300: alarm z 2.9)
// leads the ranking of its slice and raises no alarm score; twenty slow calls (z 20, and as sure) lead both.
TEST(ZeroLabel, TheAlarmScoreReadsTheCallTimesAlarmZ) {
  Catalog cat;
  const Id cx = cat.entity("cx-0", EntityKind::kPod, "cx"), x = cat.entity("x-0", EntityKind::kPod, "x");
  const Id cy = cat.entity("cy-0", EntityKind::kPod, "cy"), y = cat.entity("y-0", EntityKind::kPod, "y");
  auto edges = [&](double zx, double alarm_x, double zy) {
    std::vector<EventDeviation> out = {lag_edge(cat, cx, x, zx), lag_edge(cat, cy, y, zy)};
    out[0].alarm_z_a = out[0].alarm_z_b = alarm_x;
    out[1].alarm_z_a = out[1].alarm_z_b = zy;
    return out;
  };
  std::vector<FeatureSlice> slices = trace_slices(202, {cx, x, cy, y});
  std::vector<std::vector<EventDeviation>> devs;
  for (size_t i = 0; i < 200; ++i) {
    const double u = 0.5 + 0.01 * static_cast<double>(i % 100);  // normal: z 0.5 - 1.5
    devs.push_back(edges(u, u, 2.0 - u));
  }
  devs.push_back(edges(40, 2.9, 1.0));  // 200: x's lone slow call
  devs.push_back(edges(1.0, 1.0, 20));  // 201: y's twenty slow calls
  ZeroLabelOptions o;
  o.kind = "";
  o.metrics = false;
  const auto r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto lone = r.rank({200}), lone_alarm = r.rank({200}, false, /*alarm=*/true);
  ASSERT_FALSE(lone.empty());
  EXPECT_EQ(lone[0].entity, x);  // root cause ranking: the robust z
  EXPECT_GT(lone[0].score, 1.0);
  ASSERT_FALSE(lone_alarm.empty());
  EXPECT_LT(lone_alarm[0].score, 0.5);  // below min_z 3: no signal for an alarm
  const auto many = r.rank({201}), many_alarm = r.rank({201}, false, /*alarm=*/true);
  ASSERT_FALSE(many.empty());
  ASSERT_FALSE(many_alarm.empty());
  EXPECT_EQ(many[0].entity, y);
  EXPECT_EQ(many_alarm[0].entity, y);
  EXPECT_GT(many_alarm[0].score, 1.0);
}

// The largest score an entity can get: a signal's surprise is a rank among its calibration rows (at most
// log10(rows + 1)); the call times' power-law tail has no ceiling.
TEST(ZeroLabel, TheScoreCeilingIsTheRankOfAValueBeyondEveryCalibrationRow) {
  Catalog cat;
  const Id cx = cat.entity("cx-0", EntityKind::kPod, "cx"), x = cat.entity("x-0", EntityKind::kPod, "x");
  std::vector<FeatureSlice> slices = trace_slices(100, {cx, x});
  std::vector<std::vector<EventDeviation>> devs;
  for (size_t i = 0; i < 100; ++i) devs.push_back({lag_edge(cat, cx, x, 0.5 + 0.01 * static_cast<double>(i))});
  ZeroLabelOptions o;
  o.kind = "";
  o.metrics = false;
  const auto r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const double ceiling = r.score_ceiling(false, false);
  // 100 slices, 2 candidate rows each
  EXPECT_NEAR(ceiling, std::log10(201.0), 1e-9);
  EXPECT_EQ(r.score_ceiling(false, true), ceiling) << "the alarm's reading has the same rows";
  EXPECT_TRUE(std::isinf(r.score_ceiling(true, false)));
  // a call far beyond anything seen reaches it, no more
  devs.push_back({lag_edge(cat, cx, x, 500)});
  slices.push_back(slices.back());
  const auto r2 = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto top = r2.rank({100}, false);
  ASSERT_FALSE(top.empty());
  EXPECT_LE(top[0].score, r2.score_ceiling(false, false) + 1e-12);
  EXPECT_GT(top[0].score, 2.0);
}

// Two pods, a-0 and b-0 of services a and b, and an operation deviation of either (key: `key_base` + the pod).
struct TwoPods {
  Catalog cat;
  Id a = cat.entity("a-0", EntityKind::kPod, "a"), b = cat.entity("b-0", EntityKind::kPod, "b");
  EventDeviation operation(Id e, std::uint64_t key_base) const {
    EventDeviation d;
    d.kind = EventKind::kOperation;
    d.entity = e;
    d.key = key_base + e;
    return d;
  }
  // the names of their operations' keys: a's GET /x, b's POST /y
  std::unordered_map<std::uint64_t, std::string> names(std::uint64_t key_base) const {
    return {{key_base + a, "a|GET /x"}, {key_base + b, "b|POST /y"}};
  }
};

// Two pods' operation deviations in 201 slices of traces, `make(pod, slice)`; slice 200 is the fault.
std::vector<std::vector<EventDeviation>> two_pod_deviations(Id a, Id b,
                                                            const std::function<EventDeviation(Id, size_t)>& make) {
  std::vector<std::vector<EventDeviation>> devs;
  for (size_t i = 0; i <= 200; ++i) devs.push_back({make(a, i), make(b, i)});
  return devs;
}

// Fits the ranker on `devs` with `o` (every kind of entity), checks that the signal `has` says is there, and that
// b-0 ranks first alone in slice 200; returns what the ranker says of it (its key names: pods.names(key_base)).
std::vector<std::string> fit_and_say(const TwoPods& pods, const std::vector<FeatureSlice>& slices,
                                     const std::vector<std::vector<EventDeviation>>& devs, std::uint64_t key_base,
                                     const ZeroLabelOptions& o, bool (ZeroLabelRanker::*has)() const) {
  const auto r = ZeroLabelRanker::fit(slices, devs, nullptr, pods.cat, o);
  EXPECT_TRUE((r.*has)()) << "auto, no metric token: on";
  const auto top = r.rank({200});
  expect_alone_first(top, pods.b, pods.cat);
  if (top.empty()) return {};
  return r.explain(top[0], {200}, pods.names(key_base), {});
}

// Spans that start failing (span status) at one service: with traces only, the failed-span signal ranks it first
// and says so; where the data carry metrics, "auto" leaves the signal out (with metrics it lost on every simulated
// system: docs/results.md, "Traces only"), "on" keeps it, and "off" never has it.
TEST(ZeroLabel, FailingSpansRankTheirServiceWhereTheDataHaveNoMetrics) {
  TwoPods pods;
  Catalog& cat = pods.cat;
  const Id a = pods.a, b = pods.b;
  auto op = [&](Id e, double excess) {
    EventDeviation d = pods.operation(e, 500);
    d.error_excess = excess;
    return d;
  };
  std::vector<FeatureSlice> slices = trace_slices(201, {a, b});
  // normal: a few percent of failures more or less than usual; 200: 60 % more of b's spans fail
  const auto devs = two_pod_deviations(a, b, [&](Id e, size_t i) {
    if (i == 200) return op(e, e == b ? 0.6 : 0.02);
    return op(e, e == a ? 0.01 * static_cast<double>(i % 7) - 0.03 : 0.01 * static_cast<double>(i % 5) - 0.02);
  });
  ZeroLabelOptions o;
  o.kind = "";  // pods and services alike
  const auto said = fit_and_say(pods, slices, devs, 500, o, &ZeroLabelRanker::span_errors);
  ASSERT_FALSE(said.empty());
  EXPECT_NE(said[0].find("POST /y spans fail: +60% of spans against normal"), std::string::npos) << said[0];
  // the surprise in words, against the 201 x 2 (slice, entity) rows: no other row reaches 60 %
  EXPECT_NE(said[0].find("(surprise 2.3: the largest of the 402 (slice, entity) values seen)"), std::string::npos)
      << said[0];
  {  // two more slices where b fails as much: "others" counts them, not the ranked value's own row
    auto more_slices = trace_slices(203, {a, b});
    auto more = devs;
    more.insert(more.begin(), 2, std::vector<EventDeviation>{op(a, 0.0), op(b, 0.6)});
    const auto r3 = ZeroLabelRanker::fit(more_slices, more, nullptr, cat, o);
    const auto said3 = r3.explain(r3.rank({202})[0], {202}, pods.names(500), {});
    EXPECT_NE(said3[0].find(": 2 others of the 406 (slice, entity) values seen reach it)"), std::string::npos)
        << said3[0];
  }
  o.span_errors = "off";
  EXPECT_FALSE(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).span_errors());
  // one metric token anywhere in the data: auto leaves the signal out, on keeps it
  TokenSet& mt = slices[0].tokens[static_cast<int>(Modality::kMetrics)];
  mt.dim = token_dim(Modality::kMetrics);
  mt.entities.push_back(a);
  mt.values.assign(mt.dim, 0.f);
  o.span_errors = "auto";
  const auto with_metrics = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  EXPECT_FALSE(with_metrics.span_errors());
  EXPECT_EQ(with_metrics.rank({200})[0].score, 0.0) << "no signal reads the failures";
  o.span_errors = "on";
  EXPECT_TRUE(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).span_errors());
}

// A pod whose spans take longer on their own (CPU contention, slow disk): with traces only, the self-time signal
// ranks it first and says how long its spans' own time is against normal; where the data carry metrics, "auto"
// leaves the signal out (a caller whose call's child span is missing reads as slow itself: it lost on
// TrainTicket, docs/results.md, "Traces only").
TEST(ZeroLabel, SlowOwnWorkRanksItsPodWhereTheDataHaveNoMetrics) {
  TwoPods pods;
  Catalog& cat = pods.cat;
  const Id a = pods.a, b = pods.b;
  auto op = [&](Id e, double z) {
    EventDeviation d = pods.operation(e, 700);
    d.z_b = d.alarm_z_b = z;
    d.median_b = 3000 * (1 + z);
    d.normal_b = 3000;
    d.calls_b = 12;
    d.slow_b = 1;
    return d;
  };
  std::vector<FeatureSlice> slices = trace_slices(201, {a, b});
  // normal: self times within a few robust z of their profile; 200: b's spans take 41 times their normal own time
  const auto devs = two_pod_deviations(a, b, [&](Id e, size_t i) {
    if (i == 200) return op(e, e == b ? 40.0 : 2.0);
    return op(e, e == a ? 0.5 * static_cast<double>(i % 9) : 0.4 * static_cast<double>(i % 11));
  });
  ZeroLabelOptions o;
  o.kind = "";  // pods and services alike
  const auto said = fit_and_say(pods, slices, devs, 700, o, &ZeroLabelRanker::self_time);
  ASSERT_FALSE(said.empty());
  EXPECT_NE(said[0].find("POST /y spans' own time (outside their calls): 123 ms (median of 12 calls, all slowed), "
                         "3 ms normally"),
            std::string::npos)
      << said[0];
  // one metric token anywhere in the data: auto leaves the signal out, on keeps it, off never has it
  TokenSet& mt = slices[0].tokens[static_cast<int>(Modality::kMetrics)];
  mt.dim = token_dim(Modality::kMetrics);
  mt.entities.push_back(a);
  mt.values.assign(mt.dim, 0.f);
  const auto with_metrics = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  EXPECT_FALSE(with_metrics.self_time());
  EXPECT_EQ(with_metrics.rank({200})[0].score, 0.0) << "no signal reads the self time";
  o.self_time = "on";
  EXPECT_TRUE(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).self_time());
  o.self_time = "off";
  slices[0].tokens[static_cast<int>(Modality::kMetrics)] = TokenSet{};
  EXPECT_FALSE(ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).self_time());
}

// The draw-th value of a Pareto body of |z|: 0.5 / sqrt(1 - u) at u = draw x the golden ratio (mod 1), about 3 %
// of the values at 3 or more; consecutive draws never both lie in the tail.
float pareto_z(size_t draw) {
  const double u = std::fmod(0.6180339887 * static_cast<double>(draw), 1.0);
  return static_cast<float>(0.5 / std::sqrt(1.0 - u));
}

// 2,000 slices of metric tokens for six pods: per pod a KPI and its rate that always agree and an independent KPI,
// with a Pareto body (z 0.5 / sqrt(1 - u), about 3 % of rows at z 3 or more); in the last slice pod 1's KPI lies
// beyond anything seen, in the one before pod 2's independent KPI is as far as 1 row in 256.
std::vector<FeatureSlice> correlated_kpi_slices(Catalog& cat, std::vector<Id>& pods) {
  for (int k = 0; k < 6; ++k)
    pods.push_back(cat.entity("p" + std::to_string(k) + "-0", EntityKind::kPod, "p" + std::to_string(k)));
  const int dim = token_dim(Modality::kMetrics);
  const size_t n = 2000;
  std::vector<FeatureSlice> slices(n);
  size_t draw = 0;
  for (size_t i = 0; i < n; ++i) {
    TokenSet& mt = slices[i].tokens[static_cast<int>(Modality::kMetrics)];
    mt.dim = dim;
    for (Id p : pods) {
      mt.entities.push_back(p);
      std::vector<float> v(dim, 0.f);
      v[0] = v[1] = pareto_z(draw++);
      v[2] = pareto_z(draw++);
      if (i == n - 1 && p == pods[1]) v[0] = v[1] = 50;
      if (i == n - 2 && p == pods[2]) v[2] = 8;
      mt.values.insert(mt.values.end(), v.begin(), v.end());
    }
  }
  return slices;
}

// The KPI slots are one family: its best member is corrected for how many members could have produced it by
// chance. A KPI and its rate move together, so they count once: here two slots that always agree and one
// independent slot move like 2 KPIs, not like the 24 slots (or 3 KPIs). The ranking with options.family_min_p
// calibrates the best member on the rows' best members; the effective_family correction measures the count in
// the tail; the event AD score (alarm) keeps the correction for the slots.
TEST(ZeroLabel, KpisThatMoveTogetherCountOnceInTheMetricFamily) {
  Catalog cat;
  std::vector<Id> pods;
  const std::vector<FeatureSlice> slices = correlated_kpi_slices(cat, pods);
  const size_t n = slices.size();
  const std::vector<std::vector<EventDeviation>> devs(n);
  ZeroLabelOptions o;
  o.kind = "";
  o.family_min_p = true;
  const ZeroLabelRanker min_p = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  o.family_min_p = false;
  const auto slots = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).rank({n - 1});
  o.effective_family = true;
  const auto measured = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).rank({n - 1});
  ASSERT_FALSE(slots.empty());
  ASSERT_FALSE(measured.empty());
  EXPECT_EQ(slots[0].entity, pods[1]);
  EXPECT_EQ(measured[0].entity, pods[1]);
  // the same surprise, lowered by log10(24) against log10(about 2)
  EXPECT_NEAR(measured[0].score - slots[0].score, std::log10(24.0 / 2.0), 0.1);
  // min-p: the most extreme row of the data; as a family it ties with the row of the independent KPI's largest
  // value (also the top of its slot): (2 + 1) / (rows + 1) against (1 + 1) / (rows + 1) for its KPI alone
  const auto top = min_p.rank({n - 1});
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].entity, pods[1]);
  EXPECT_NEAR(top[0].score, *std::max_element(top[0].surprise.begin(), top[0].surprise.end()) - std::log10(1.5),
              1e-9);
  // ... and a KPI in the tail twice as often as a family as alone: two KPIs move independently (lowered by
  // log10(2)), and the event AD score still corrects for the 24 slots
  const auto second = min_p.rank({n - 2}), second_alarm = min_p.rank({n - 2}, false, /*alarm=*/true);
  ASSERT_FALSE(second.empty());
  ASSERT_FALSE(second_alarm.empty());
  EXPECT_EQ(second[0].entity, pods[2]);
  const auto& names = min_p.signal_names();
  const auto kpi2 = static_cast<size_t>(std::find(names.begin(), names.end(), "metric slot 2") - names.begin());
  ASSERT_LT(kpi2, names.size());
  EXPECT_NEAR(second[0].surprise[kpi2] - second[0].score, std::log10(2.0), 0.1);
  EXPECT_NEAR(second_alarm[0].surprise[kpi2] - second_alarm[0].score, std::log10(24.0), 1e-9);
}

// A live stream releases old slices' tokens after archiving their calibration rows: the KPI family's min-p
// calibration (options.family_min_p) keeps their joint rows, so ranking over the archive gives what ranking over
// every slice gives.
TEST(ZeroLabel, TheArchiveKeepsTheKpiFamilysJointRows) {
  Catalog cat;
  std::vector<Id> pods;
  const std::vector<FeatureSlice> all = correlated_kpi_slices(cat, pods);
  const size_t n = all.size();
  const std::vector<std::vector<EventDeviation>> devs(n);
  ZeroLabelOptions o;
  o.kind = "";
  o.family_min_p = true;
  const ZeroLabelRanker full = ZeroLabelRanker::fit(all, devs, nullptr, cat, o);
  CalibrationArchive archive;
  std::vector<FeatureSlice> live = all;
  for (size_t i = 0; i < n / 2; ++i) {
    full.archive(i, archive);
    live[i] = FeatureSlice{};
  }
  EXPECT_EQ(archive.rows, static_cast<double>(n / 2 * pods.size()));
  EXPECT_FALSE(archive.joint.empty());
  const ZeroLabelRanker streamed = ZeroLabelRanker::fit(live, devs, nullptr, cat, o, &archive);
  for (size_t c : {n - 1, n - 2}) {
    const auto a = full.rank({c}), b = streamed.rank({c});
    ASSERT_FALSE(a.empty());
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(a[0].entity, b[0].entity);
    EXPECT_DOUBLE_EQ(a[0].score, b[0].score);
  }
  // a model's copy: saved and read back (values to 4 significant digits), it ranks the same
  const CalibrationArchive saved = CalibrationArchive::from_json(archive.to_json());
  EXPECT_EQ(saved.names, full.signal_names());
  EXPECT_EQ(saved.rows, archive.rows);
  const ZeroLabelRanker reread = ZeroLabelRanker::fit(live, devs, nullptr, cat, o, &saved);
  EXPECT_EQ(reread.rank({n - 1})[0].entity, full.rank({n - 1})[0].entity);
  // ... and one from a ranker with other signals (here: one more, the failed spans) adds what they share, by name
  ZeroLabelOptions more = o;
  more.span_errors = "on";
  const ZeroLabelRanker wider = ZeroLabelRanker::fit(all, devs, nullptr, cat, more);
  ASSERT_EQ(wider.signal_names().size(), full.signal_names().size() + 1);
  const CalibrationArchive other = wider.calibration(
      [&] {
        std::vector<size_t> first(n / 2);
        for (size_t i = 0; i < first.size(); ++i) first[i] = i;
        return first;
      }(),
      1e9);
  const ZeroLabelRanker aligned = ZeroLabelRanker::fit(live, devs, nullptr, cat, o, &other);
  for (size_t c : {n - 1, n - 2}) {
    const auto a = full.rank({c}), b = aligned.rank({c});
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(a[0].entity, b[0].entity);
    EXPECT_DOUBLE_EQ(a[0].score, b[0].score);
  }
  // a malformed copy is refused
  nlohmann::json bad = archive.to_json();
  bad["names"].erase(0);
  EXPECT_THROW(CalibrationArchive::from_json(bad), ModelError);
  // thinning keeps every other joint row with every other value; calibration() thins to its row budget
  const size_t joint = archive.joint.size();
  archive.thin();
  EXPECT_EQ(archive.joint.size(), (joint + 1) / 2);
  EXPECT_LE(full.calibration({0, 1, 2, 3, 4, 5, 6, 7}, 10).rows, 10.0);
}

// A node's KPI that the reader joins to each of its pods deviates the same on all of them: shared_kpi_slots finds
// the slot by its exact twins, and the ranking leaves it out (options.shared_kpis_out), so a pod whose own KPI
// moved outranks the pods of a busy node. The event AD score keeps the slot, and the evidence names it.
TEST(ZeroLabel, ANodesKpiOnEachOfItsPodsDoesNotRankThem) {
  Catalog cat;
  std::vector<Id> pods;
  for (int k = 0; k < 6; ++k)
    pods.push_back(cat.entity("p" + std::to_string(k) + "-0", EntityKind::kPod, "p" + std::to_string(k)));
  const int dim = token_dim(Modality::kMetrics);
  const size_t n = 1000;
  std::vector<FeatureSlice> slices(n);
  size_t draw = 0;
  for (size_t i = 0; i < n; ++i) {
    TokenSet& mt = slices[i].tokens[static_cast<int>(Modality::kMetrics)];
    mt.dim = dim;
    // pods 0-2 on node a, 3-5 on node b
    const float node_a = i == n - 1 ? 50.f : pareto_z(draw++), node_b = pareto_z(draw++);
    for (size_t k = 0; k < pods.size(); ++k) {
      mt.entities.push_back(pods[k]);
      std::vector<float> v(dim, 0.f);
      v[0] = i == n - 1 && k == 4 ? 8.f : pareto_z(draw++);  // the pod's own KPI; in the case pod 4's moved
      v[1] = k < 3 ? node_a : node_b;               // its node's KPI
      mt.values.insert(mt.values.end(), v.begin(), v.end());
    }
  }
  const std::vector<char> shared = shared_kpi_slots(slices, 3.0);
  ASSERT_EQ(shared.size(), static_cast<size_t>(kKpiSlots));
  EXPECT_FALSE(shared[0]);
  EXPECT_TRUE(shared[1]);
  const std::vector<std::vector<EventDeviation>> devs(n);
  ZeroLabelOptions o;
  o.kind = "";
  const ZeroLabelRanker r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto ranked = r.rank({n - 1}), alarm = r.rank({n - 1}, false, /*alarm=*/true);
  ASSERT_FALSE(ranked.empty());
  ASSERT_FALSE(alarm.empty());
  EXPECT_EQ(ranked[0].entity, pods[4]);
  EXPECT_NE(alarm[0].entity, pods[4]);  // the busy node is what an alarm sees first
  const auto node_pod = std::find_if(ranked.begin(), ranked.end(), [&](const auto& z) { return z.entity == pods[0]; });
  ASSERT_NE(node_pod, ranked.end());
  const auto why = r.explain(*node_pod, {n - 1}, {}, {"CpuUsage(m)", "NodeCpuUsageRate(%)"});
  ASSERT_FALSE(why.empty());
  EXPECT_NE(why[0].find("NodeCpuUsageRate(%)"), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("like a node's KPI: not ranked"), std::string::npos) << why[0];
  o.shared_kpis_out = false;  // counted: the node's pods come first
  const auto counted = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o).rank({n - 1});
  ASSERT_FALSE(counted.empty());
  EXPECT_NE(counted[0].entity, pods[4]);
}

// The metric tokens hold the squashed z (logarithmic beyond 3, clipped); the evidence quotes the robust z itself,
// and at the tokens' clip only as a lower bound.
TEST(ZeroLabel, KpiEvidenceQuotesTheRobustZNotTheSquashedToken) {
  Catalog cat;
  std::vector<Id> pods;
  for (int k = 0; k < 4; ++k)
    pods.push_back(cat.entity("p" + std::to_string(k) + "-0", EntityKind::kPod, "p" + std::to_string(k)));
  const int dim = token_dim(Modality::kMetrics);
  const size_t n = 200;
  std::vector<FeatureSlice> slices(n);
  for (size_t i = 0; i < n; ++i) {
    TokenSet& mt = slices[i].tokens[static_cast<int>(Modality::kMetrics)];
    mt.dim = dim;
    for (Id p : pods) {
      mt.entities.push_back(p);
      std::vector<float> v(dim, 0.f);
      v[0] = static_cast<float>(0.5 + 0.01 * static_cast<double>((i * 7 + p) % 100));   // |z| 0.5 to 1.5
      if (i == n - 2 && p == pods[2]) v[0] = static_cast<float>(3.0 + std::log(98.0));  // |z| 100
      if (i == n - 1 && p == pods[3]) v[0] = 12.f;                                      // at the clip
      mt.values.insert(mt.values.end(), v.begin(), v.end());
    }
  }
  const std::vector<std::vector<EventDeviation>> devs(n);
  ZeroLabelOptions o;
  o.kind = "";
  const ZeroLabelRanker r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto spike = r.rank({n - 2});
  ASSERT_FALSE(spike.empty());
  ASSERT_EQ(spike[0].entity, pods[2]);
  const auto why = r.explain(spike[0], {n - 2}, {}, {"CpuUsage(m)"}, 12.0);
  ASSERT_FALSE(why.empty());
  EXPECT_EQ(why[0].rfind("CpuUsage(m): robust z 100 against its baseline", 0), 0u) << why[0];
  const auto clipped = r.rank({n - 1});
  ASSERT_FALSE(clipped.empty());
  ASSERT_EQ(clipped[0].entity, pods[3]);
  const auto why_c = r.explain(clipped[0], {n - 1}, {}, {"CpuUsage(m)"}, 12.0);
  ASSERT_FALSE(why_c.empty());
  EXPECT_EQ(why_c[0].rfind("CpuUsage(m): robust z " + short_number(unsquash_z(12.0)) + " or more against", 0), 0u)
      << why_c[0];
  // the clip not known: the value alone
  EXPECT_EQ(r.explain(clipped[0], {n - 1}, {}, {"CpuUsage(m)"})[0].find("or more"), std::string::npos);
}

// The triage vectors' directions (heads.triage_directions): per KPI slot the sign of the entity's largest robust z
// over the case's slices (a leak raises memory, a restart drops it), +1 for the other signals.
TEST(ZeroLabel, DirectionsAreTheSignOfEachKpisLargestDeviation) {
  Catalog cat;
  const Id pod = cat.entity("p0-0", EntityKind::kPod, "p0");
  const Id other = cat.entity("p1-0", EntityKind::kPod, "p1");
  const int dim = token_dim(Modality::kMetrics);
  std::vector<FeatureSlice> slices(3);
  // slot 0 rises (2, then 5), slot 1 falls (-1, then -6 beside +3), slot 2 never moves; the other pod falls on 0
  const std::vector<std::vector<float>> z = {{2, -1, 0}, {5, 3, 0}, {1, -6, 0}};
  for (size_t i = 0; i < slices.size(); ++i) {
    TokenSet& mt = slices[i].tokens[static_cast<int>(Modality::kMetrics)];
    mt.dim = dim;
    for (Id e : {pod, other}) {
      std::vector<float> v(dim, 0.f);
      for (size_t j = 0; j < z[i].size(); ++j) v[j] = e == pod ? z[i][j] : -9.f * (j == 0);
      mt.entities.push_back(e);
      mt.values.insert(mt.values.end(), v.begin(), v.end());
    }
  }
  const std::vector<std::vector<EventDeviation>> devs(slices.size());
  ZeroLabelOptions o;
  o.kind = "";
  const ZeroLabelRanker r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto& names = r.signal_names();
  const auto slot = [&](int k) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), "metric slot " + std::to_string(k)) -
                               names.begin());
  };
  ASSERT_LT(slot(2), names.size());
  const auto d = r.directions({0, 1, 2}, pod);
  ASSERT_EQ(d.size(), names.size());
  EXPECT_EQ(d[slot(0)], 1.0);
  EXPECT_EQ(d[slot(1)], -1.0);
  EXPECT_EQ(d[slot(2)], 1.0);  // no deviation: +1
  EXPECT_EQ(d[0], 1.0);        // not a KPI
  EXPECT_EQ(r.directions({0, 1}, pod)[slot(1)], 1.0);  // within these two slices slot 1's largest is +3
  EXPECT_EQ(r.directions({0}, other)[slot(0)], -1.0);
}

// A missing step that is a child span (features.events.child_steps) reads as one, not as a log step.
TEST(ZeroLabel, AMissingChildSpanIsNamedAsOne) {
  Catalog cat;
  const Id a = cat.entity("a-0", EntityKind::kPod, "a"), b = cat.entity("b-0", EntityKind::kPod, "b");
  const auto slices = trace_slices(30, {a, b});
  std::vector<std::vector<EventDeviation>> devs(slices.size());
  EventDeviation d;
  d.kind = EventKind::kOperation;
  d.entity = a;
  d.key = 7;
  d.missing_step = 9;
  d.missing = 1.0;
  d.missing_normal = 1.0;
  d.missing_seen = 0.0;
  devs.back().push_back(d);
  ZeroLabelOptions o;
  o.kind = "";
  o.metrics = false;
  const auto r = ZeroLabelRanker::fit(slices, devs, nullptr, cat, o);
  const auto ranked = r.rank({slices.size() - 1});
  ASSERT_FALSE(ranked.empty());
  ASSERT_EQ(ranked[0].entity, a);
  const std::unordered_map<std::uint64_t, std::string> names = {
      {7, "a|GET /a"}, {9, std::string(kChildStepMark) + "a SELECT orders"}};
  const auto why = r.explain(ranked[0], {slices.size() - 1}, names, {});
  ASSERT_FALSE(why.empty());
  EXPECT_EQ(why[0].rfind("child span \"a SELECT orders\" of GET /a: in 100% of its spans normally, 0% now", 0), 0u)
      << why[0];
}

}  // namespace
}  // namespace rslicer
