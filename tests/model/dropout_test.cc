#include "model/dropout.h"

#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <cmath>

#include "core/errors.h"

namespace rslicer {
namespace {

TEST(FastDropout, KeepsTheShareAndScaleOfInvertedDropout) {
  const double p = 0.1;
  auto mask = dropout_mask({1000, 1000}, p, 42, torch::kFloat32);
  ASSERT_EQ(mask.sizes(), (std::vector<std::int64_t>{1000, 1000}));
  const auto kept = mask.gt(0);
  const double share = kept.to(torch::kFloat64).mean().item<double>();
  // 10^6 Bernoulli(0.9) draws: the standard error of the share is 3e-4.
  EXPECT_NEAR(share, 1 - p, 0.002);
  EXPECT_TRUE(torch::allclose(mask.masked_select(kept), torch::full({1}, 1 / (1 - p))));
  // inverted dropout keeps the expected value
  EXPECT_NEAR(mask.to(torch::kFloat64).mean().item<double>(), 1.0, 0.003);
}

TEST(FastDropout, DrawsDependOnlyOnTheSeedAndTheIndex) {
  auto a = dropout_mask({7, 333}, 0.3, 5, torch::kFloat32);
  EXPECT_TRUE(torch::equal(a, dropout_mask({7, 333}, 0.3, 5, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(a.reshape({-1}), dropout_mask({2331}, 0.3, 5, torch::kFloat32)));  // a shape's numel
  EXPECT_FALSE(torch::equal(a, dropout_mask({7, 333}, 0.3, 6, torch::kFloat32)));
  // neighbouring elements and seeds are not correlated: the share of (kept, kept) pairs is (1 - p)^2
  auto m = dropout_mask({200000}, 0.5, 11, torch::kFloat32).gt(0).to(torch::kFloat64);
  double pairs = (m.slice(0, 0, -1) * m.slice(0, 1)).mean().item<double>();
  EXPECT_NEAR(pairs, 0.25, 0.01);
  auto other = dropout_mask({200000}, 0.5, 12, torch::kFloat32).gt(0).to(torch::kFloat64);
  EXPECT_NEAR((m * other).mean().item<double>(), 0.25, 0.01);
  // the mask of a double tensor is double, with the same draws and a scale exact in double
  auto d = dropout_mask({7, 333}, 0.3, 5, torch::kFloat64);
  EXPECT_EQ(d.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(d.gt(0), a.gt(0)));
  const double rate = std::lround(0.3 * 65536) / 65536.0;
  EXPECT_DOUBLE_EQ(d.max().item<double>(), 1 / (1 - rate));
}

TEST(FastDropout, TheMaskDoesNotDependOnTheThreadCount) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = dropout_mask({600, 700}, 0.1, 9, torch::kFloat32);
  at::set_num_threads(4);
  auto four = dropout_mask({600, 700}, 0.1, 9, torch::kFloat32);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, four));
}

TEST(FastDropout, ExtremeRatesKeepTheMeanAtOne) {
  // the rate is rounded to 2^-16 and the scale follows it: tiny p drops nothing and scales by 1; p near 1 keeps
  // 1 in 2^16 elements, each scaled by 2^16
  auto tiny = dropout_mask({1000}, 1e-7, 3, torch::kFloat64);
  EXPECT_TRUE(torch::equal(tiny, torch::ones({1000}, torch::kFloat64)));
  auto near_one = dropout_mask({1 << 20}, 1 - 1e-9, 3, torch::kFloat64);
  EXPECT_DOUBLE_EQ(near_one.max().item<double>(), 65536.0);
  EXPECT_NEAR(near_one.mean().item<double>(), 1.0, 0.5);  // 16 kept of 2^20 expected: a Poisson count
}

TEST(FastDropout, TrainsLikeDropoutAndIsTheIdentityInEvaluation) {
  FastDropout drop(0.25);
  auto x = torch::ones({64, 64}, torch::requires_grad());
  torch::manual_seed(3);
  auto y = drop(x);
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(y, drop(x))) << "torch::manual_seed makes the mask reproducible";
  EXPECT_FALSE(torch::equal(y, drop(x))) << "each call draws a new mask";
  // the gradient is the mask: dropped elements get none, kept ones 1 / (1 - p)
  y.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), y.detach()));
  const double dropped = y.eq(0).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(dropped, 0.15);
  EXPECT_LT(dropped, 0.35);
  drop->eval();
  EXPECT_TRUE(torch::equal(drop(x), x));
  FastDropout none(0.0);
  EXPECT_TRUE(torch::equal(none(x), x));
}

TEST(FastDropout, RefusesAProbabilityOutsideItsRange) {
  EXPECT_THROW(FastDropout(1.0), InvalidInput);
  EXPECT_THROW(FastDropout(-0.1), InvalidInput);
  EXPECT_THROW(dropout_mask({3}, 1.5, 1, torch::kFloat32), InvalidInput);
}

}  // namespace
}  // namespace rslicer
