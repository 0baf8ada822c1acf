#include "tune/state_partition.h"

#include <gtest/gtest.h>

#include <random>

#include "core/errors.h"
#include "test_util.h"

namespace rslicer {
namespace {

// n points around each of the given centres, Gaussian noise sd.
std::vector<float> blobs(const std::vector<std::vector<float>>& centres, int n, double sd, std::uint64_t seed,
                         std::vector<int>* truth = nullptr) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, sd);
  std::vector<float> x;
  for (int i = 0; i < n; ++i)
    for (size_t c = 0; c < centres.size(); ++c) {
      for (float v : centres[c]) x.push_back(static_cast<float>(v + g(rng)));
      if (truth) truth->push_back(static_cast<int>(c));
    }
  return x;
}

TEST(StatePartition, ChoosesKBySilhouetteAndAssignsNearest) {
  std::vector<std::vector<float>> centres = {{0, 0, 0}, {5, 5, 0}, {0, 5, 5}};
  std::vector<int> truth;
  auto x = blobs(centres, 60, 0.3, 7, &truth);
  PartitionOptions o;
  o.k_min = 2;
  o.k_max = 6;
  auto p = StatePartition::fit(x.data(), static_cast<std::int64_t>(truth.size()), 3, o);
  EXPECT_EQ(p.num_states(), 3);
  EXPECT_GT(p.silhouette(), 0.8);
  ASSERT_EQ(p.silhouette_by_k().size(), 5u);
  // Points of one true blob share a state, different blobs differ.
  std::vector<int> state_of_blob(3, -1);
  for (size_t i = 0; i < truth.size(); ++i) {
    int s = p.assign(x.data() + i * 3);
    if (state_of_blob[truth[i]] < 0) state_of_blob[truth[i]] = s;
    EXPECT_EQ(s, state_of_blob[truth[i]]);
  }
  EXPECT_NE(state_of_blob[0], state_of_blob[1]);
  EXPECT_NE(state_of_blob[1], state_of_blob[2]);
  // Deterministic with the same seed.
  auto q = StatePartition::fit(x.data(), static_cast<std::int64_t>(truth.size()), 3, o);
  EXPECT_EQ(p.centroids(), q.centroids());
}

TEST(StatePartition, FixedKAndSmallClustersMerged) {
  // 200 points in one blob and 3 outliers far away: with k = 2 and a 5 % floor the
  // outlier cluster is merged away.
  auto x = blobs({{0, 0}}, 200, 0.5, 3);
  for (int i = 0; i < 3; ++i) {
    x.push_back(50.f + i);
    x.push_back(50.f);
  }
  PartitionOptions o;
  o.k = 2;
  o.min_cluster_fraction = 0.05;
  auto p = StatePartition::fit(x.data(), 203, 2, o);
  EXPECT_EQ(p.num_states(), 1);
  o.min_cluster_fraction = 0.0;
  auto p2 = StatePartition::fit(x.data(), 203, 2, o);
  EXPECT_EQ(p2.num_states(), 2);
  EXPECT_EQ(p2.sizes()[p2.assign(std::vector<float>{50, 50})], 3);
}

TEST(StatePartition, JsonRoundTripAndErrors) {
  auto x = blobs({{0, 0}, {4, 4}}, 30, 0.2, 11);
  PartitionOptions o;
  o.k = 2;
  auto p = StatePartition::fit(x.data(), 60, 2, o);
  std::string dir = testing::make_temp_dir("rslicer_states");
  p.save(dir + "/states.json");
  auto q = StatePartition::load(dir + "/states.json");
  EXPECT_EQ(q.num_states(), 2);
  EXPECT_EQ(q.dim(), 2);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(p.assign(x.data() + i * 2), q.assign(x.data() + i * 2));
  EXPECT_THROW(StatePartition::from_json("{not json"), ModelError);
  EXPECT_THROW(StatePartition::from_json(R"({"format":"other","version":1})"), ModelError);
  EXPECT_THROW(StatePartition::from_json(R"({"format":"rslicer-state-partition","version":1,"k":2,"dim":2,"centroids":[[1,2]]})"),
               ModelError);
  EXPECT_THROW(StatePartition::load(dir + "/missing.json"), IoError);
  EXPECT_THROW(StatePartition::fit(x.data(), 0, 2, o), InvalidInput);
}

TEST(StatePartition, SilhouetteMatchesHandComputedValue) {
  // Two points per cluster on a line: a = 1, b = distance to the other pair's mean.
  std::vector<float> x = {0, 1, 10, 11};
  std::vector<int> labels = {0, 0, 1, 1};
  // point 0: a = 1, b = (10 + 11) / 2 = 10.5, s = 9.5 / 10.5
  // point 1: a = 1, b = (9 + 10) / 2 = 9.5, s = 8.5 / 9.5 ; symmetric for the others
  double expected = (9.5 / 10.5 + 8.5 / 9.5) / 2;
  EXPECT_NEAR(silhouette_score(x.data(), 4, 1, labels), expected, 1e-9);
}

}  // namespace
}  // namespace rslicer
