// URCL losses: values on hand-made cases and finite-difference gradient
// checks in double precision (torch::autograd against central differences).
#include "train/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/errors.h"

namespace rslicer {
namespace {

torch::Tensor unit_rows(torch::Tensor x) {
  return x / x.norm(2, -1, true);
}

// Central-difference gradient of f at x (double), compared with autograd.
void expect_gradient_matches(const std::function<torch::Tensor(const torch::Tensor&)>& f, torch::Tensor x,
                             double eps = 1e-6, double tol = 1e-5) {
  x = x.to(torch::kFloat64).detach().requires_grad_(true);
  auto y = f(x);
  ASSERT_EQ(y.dim(), 0);
  y.backward();
  auto analytic = x.grad().clone();
  auto flat = x.detach().clone().reshape({-1});
  auto numeric = torch::zeros_like(flat);
  for (std::int64_t i = 0; i < flat.numel(); ++i) {
    auto xp = flat.clone(), xm = flat.clone();
    xp[i] += eps;
    xm[i] -= eps;
    double fp = f(xp.reshape(x.sizes())).item<double>();
    double fm = f(xm.reshape(x.sizes())).item<double>();
    numeric[i] = (fp - fm) / (2 * eps);
  }
  auto diff = (analytic.reshape({-1}) - numeric).abs().max().item<double>();
  EXPECT_LT(diff, tol) << "analytic " << analytic << "\nnumeric " << numeric.reshape(x.sizes());
  EXPECT_GT(analytic.abs().sum().item<double>(), 0.0) << "gradient is identically zero";
}

TEST(ModalLoss, PerfectAlignmentBeatsShuffled) {
  torch::manual_seed(1);
  auto z = unit_rows(torch::randn({6, 8}, torch::kFloat64));
  auto modality = torch::stack({z, z, z}, 1);  // [6, 3, 8]
  auto mask = torch::ones({6, 3}, torch::kBool);
  auto neg = torch::ones({6, 6}, torch::kBool);
  double aligned = modal_loss(modality, mask, z, neg, 0.1).item<double>();
  auto perm = torch::tensor({1, 2, 3, 4, 5, 0});
  auto shuffled = torch::stack({z, z.index_select(0, perm), z}, 1);
  double bad = modal_loss(shuffled, mask, z, neg, 0.1).item<double>();
  EXPECT_LT(aligned, bad);
  EXPECT_GE(aligned, 0.0);
}

TEST(ModalLoss, SkipsMissingModalitiesAndIgnoresTheirContent) {
  torch::manual_seed(2);
  auto modality = unit_rows(torch::randn({5, 3, 4}, torch::kFloat64));
  auto fused = unit_rows(torch::randn({5, 4}, torch::kFloat64));
  auto mask = torch::ones({5, 3}, torch::kBool);
  mask.select(1, 2).fill_(false);  // no logs anywhere
  auto neg = torch::ones({5, 5}, torch::kBool);
  double a = modal_loss(modality, mask, fused, neg, 0.2).item<double>();
  auto m2 = modality.clone();
  m2.select(1, 2).copy_(unit_rows(torch::randn({5, 4}, torch::kFloat64)));
  double b = modal_loss(m2, mask, fused, neg, 0.2).item<double>();
  EXPECT_DOUBLE_EQ(a, b);
  // nothing to compare at all: zero
  auto none = torch::zeros({5, 3}, torch::kBool);
  // (fused is always present but needs a partner)
  EXPECT_EQ(modal_loss(modality, none, fused, neg, 0.2).item<double>(), 0.0);
}

TEST(ModalLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto mask = torch::tensor({1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1}, torch::kBool).reshape({4, 3});
  auto neg = torch::ones({4, 4}, torch::kBool);
  neg[0][1] = false;  // an overlapping neighbour is not a negative
  neg[1][0] = false;
  auto fused = unit_rows(torch::randn({4, 5}, torch::kFloat64));
  expect_gradient_matches(
      [&](const torch::Tensor& x) { return modal_loss(unit_rows(x), mask, fused, neg, 0.3); },
      torch::randn({4, 3, 5}, torch::kFloat64));
  auto modality = unit_rows(torch::randn({4, 3, 5}, torch::kFloat64));
  expect_gradient_matches([&](const torch::Tensor& x) { return modal_loss(modality, mask, unit_rows(x), neg, 0.3); },
                          torch::randn({4, 5}, torch::kFloat64));
}

TEST(TemporalLoss, OverlapWeightsAndSlack) {
  // slices 0,1 overlap (omega 2/3); 2 overlaps nothing.
  auto omega = torch::zeros({3, 3}, torch::kFloat64);
  omega[0][1] = omega[1][0] = 2.0 / 3.0;
  auto z = unit_rows(torch::tensor({{1.0, 0.0}, {0.6, 0.8}, {-1.0, 0.0}}, torch::kFloat64));
  double l = temporal_loss(z, omega, 0.5, 0.0).item<double>();
  // hand computation for anchor 0: s01 = 0.6, negatives {2}: s02 = -1
  double l0 = -std::log(std::exp(0.6 / 0.5) / (std::exp(0.6 / 0.5) + std::exp(-1.0 / 0.5)));
  // anchor 1: s10 = 0.6, s12 = -0.6
  double l1 = -std::log(std::exp(0.6 / 0.5) / (std::exp(0.6 / 0.5) + std::exp(-0.6 / 0.5)));
  EXPECT_NEAR(l, (2.0 / 3.0) * (l0 + l1) / 2.0, 1e-9);
  // with slack delta = 0.5 the positive counts as 1.0 - 0 = min(0.6 + 0.5, 1)
  double ls = temporal_loss(z, omega, 0.5, 0.5).item<double>();
  double l0s = -std::log(std::exp(1.0 / 0.5) / (std::exp(1.0 / 0.5) + std::exp(-1.0 / 0.5)));
  double l1s = -std::log(std::exp(1.0 / 0.5) / (std::exp(1.0 / 0.5) + std::exp(-0.6 / 0.5)));
  EXPECT_NEAR(ls, (2.0 / 3.0) * (l0s + l1s) / 2.0, 1e-9);
  // within the slack, the positive pair gets no pull: gradient wrt z1 only from the push on negatives
  // no positives at all: zero
  EXPECT_EQ(temporal_loss(z, torch::zeros({3, 3}, torch::kFloat64), 0.5, 0.1).item<double>(), 0.0);
}

TEST(TemporalLoss, LargerOverlapPullsHarder) {
  auto z = unit_rows(torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.0}}, torch::kFloat64));
  auto make = [](double w) {
    auto o = torch::zeros({3, 3}, torch::kFloat64);
    o[0][1] = o[1][0] = w;
    return o;
  };
  EXPECT_LT(temporal_loss(z, make(1.0 / 3), 0.5, 0.1).item<double>(),
            temporal_loss(z, make(2.0 / 3), 0.5, 0.1).item<double>());
}

TEST(TemporalLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  auto omega = torch::zeros({5, 5}, torch::kFloat64);
  omega[0][1] = omega[1][0] = 2.0 / 3;
  omega[1][2] = omega[2][1] = 2.0 / 3;
  omega[0][2] = omega[2][0] = 1.0 / 3;
  omega[3][4] = omega[4][3] = 0.5;
  // delta small enough that no pair sits on the kink of min(s + delta, 1)
  expect_gradient_matches([&](const torch::Tensor& x) { return temporal_loss(unit_rows(x), omega, 0.2, 0.05); },
                          torch::randn({5, 4}, torch::kFloat64));
}

TEST(AnomalyLoss, HingeOnPrototypeSimilarity) {
  auto z = unit_rows(torch::tensor({{1.0, 0.0}, {0.8, 0.6}, {0.0, 1.0}, {1.0, 0.1}}, torch::kFloat64));
  auto anomalous = torch::tensor({false, true, true, false});
  auto proto = normal_prototype(z, anomalous);
  ASSERT_TRUE(proto.defined());
  EXPECT_NEAR(proto.norm().item<double>(), 1.0, 1e-12);
  double gamma = 0.5;
  double s1 = (z[1] * proto).sum().item<double>(), s2 = (z[2] * proto).sum().item<double>();
  double expect = (std::pow(std::max(0.0, s1 - gamma), 2) + std::pow(std::max(0.0, s2 - gamma), 2)) / 2;
  EXPECT_NEAR(anomaly_loss(z, anomalous, proto, gamma).item<double>(), expect, 1e-12);
  EXPECT_EQ(anomaly_loss(z, torch::zeros({4}, torch::kBool), proto, gamma).item<double>(), 0.0);
  EXPECT_FALSE(normal_prototype(z, torch::ones({4}, torch::kBool)).defined());
}

TEST(AnomalyLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(5);
  auto anomalous = torch::tensor({false, true, false, true, true});
  auto proto = unit_rows(torch::randn({1, 4}, torch::kFloat64)).squeeze(0);
  // make anomalous rows close to the prototype so the hinge is active
  auto base = torch::randn({5, 4}, torch::kFloat64) * 0.3 + proto;
  expect_gradient_matches(
      [&](const torch::Tensor& x) {
        auto z = unit_rows(x);
        return anomaly_loss(z, anomalous, normal_prototype(z, anomalous), 0.2);
      },
      base);
}

TEST(EntityLoss, ChoosesTheRootCauseOrNone) {
  // two slices: one in a fault whose root cause is entity 0 of 2, one normal slice with 3 entities
  auto a = torch::tensor({1.0, -1.0}, torch::kFloat64);
  auto b = torch::tensor({0.5, -2.0, 0.0}, torch::kFloat64);
  const double za = std::exp(1.0) + std::exp(-1.0) + 1.0;  // + "no root cause" (logit 0)
  const double zb = std::exp(0.5) + std::exp(-2.0) + 1.0 + 1.0;
  const double la = -std::log(std::exp(1.0) / za), lb = -std::log(1.0 / zb);
  EXPECT_NEAR(entity_loss({a}, {{0}}).item<double>(), la, 1e-12);
  EXPECT_NEAR(entity_loss({b}, {{}}).item<double>(), lb, 1e-12);
  EXPECT_NEAR(entity_loss({a, b}, {{0}, {}}).item<double>(), (la + lb) / 2, 1e-12);
  // a service-level label names several entities: their probabilities add up
  EXPECT_NEAR(entity_loss({b}, {{0, 2}}).item<double>(), -std::log((std::exp(0.5) + 1.0) / zb), 1e-12);
  EXPECT_EQ(entity_loss({}, {}).item<double>(), 0.0);
  EXPECT_THROW(entity_loss({a}, {{2}}), InvalidInput);
  EXPECT_THROW(entity_loss({a, b}, {{0}}), InvalidInput);
  // the right answer costs less: a larger root-cause logit lowers the loss, a larger logit elsewhere raises it
  EXPECT_LT(entity_loss({torch::tensor({2.0, -1.0}, torch::kFloat64)}, {{0}}).item<double>(), la);
  EXPECT_GT(entity_loss({torch::tensor({1.0, 1.0}, torch::kFloat64)}, {{0}}).item<double>(), la);
}

TEST(EntityLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(6);
  expect_gradient_matches(
      [](const torch::Tensor& x) {
        return entity_loss({x.slice(0, 0, 3), x.slice(0, 3, 5), x.slice(0, 5, 9)}, {{1}, {}, {0, 3}});
      },
      torch::randn({9}, torch::kFloat64));
}

TEST(LossConfig, JsonUnknownKeyAndRanges) {
  LossConfig c = config::from_json<LossConfig>(nlohmann::json{{"tau", 0.2}, {"lambda_anom", 0}});
  EXPECT_DOUBLE_EQ(c.tau, 0.2);
  EXPECT_DOUBLE_EQ(c.lambda_anom, 0.0);
  try {
    config::from_json<LossConfig>(nlohmann::json{{"tauu", 0.2}});
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("loss.tauu"), std::string::npos);
  }
  EXPECT_THROW(config::from_json<LossConfig>(nlohmann::json{{"tau", 0}}), InvalidInput);
  EXPECT_THROW(config::from_json<LossConfig>(nlohmann::json{{"gamma", "x"}}), InvalidInput);
  EXPECT_EQ(config::from_json<LossConfig>(config::to_json(c)).tau, c.tau);
}

}  // namespace
}  // namespace rslicer
