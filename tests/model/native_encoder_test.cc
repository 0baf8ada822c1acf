#include "model/native_encoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <cstdlib>

#include "model/fusion_mlp.h"

namespace rslicer {
namespace {

// A random FeatureSlice with the given token counts per modality.
FeatureSlice random_slice(std::mt19937& rng, int n_metric, int n_trace, int n_log, std::int64_t index = 0) {
  FeatureSlice s;
  s.index = index;
  s.start = index * 60 * kUsPerSecond;
  s.end = s.start + 180 * kUsPerSecond;
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> bucket(1, 4095);
  int counts[3] = {n_metric, n_trace, n_log};
  for (int m = 0; m < kNumModalities; ++m) {
    TokenSet& t = s.tokens[m];
    t.dim = token_dim(static_cast<Modality>(m));
    for (int i = 0; i < counts[m]; ++i) {
      for (int k = 0; k < t.dim; ++k) t.values.push_back(nd(rng));
      for (int p = 0; p < kMaxPieces; ++p) t.pieces.push_back(p < 3 ? bucket(rng) : 0);
      t.entities.push_back(static_cast<Id>(i));
      t.kinds.push_back(1);
      t.keys.push_back(static_cast<std::uint64_t>(i));
    }
    if (counts[m] > 0) s.mask.set(static_cast<Modality>(m));
  }
  return s;
}

EncoderConfig small_config() {
  EncoderConfig c;
  c.d_model = 16;
  c.heads = 2;
  c.layers = 1;
  c.ff_dim = 32;
  c.embed_dim = 8;
  c.entity_dim = 4;
  c.fusion_hidden = 16;
  c.name_buckets = 4096;
  return c;
}

TEST(NativeEncoder, ShapesAndNormalisation) {
  torch::manual_seed(1);
  std::mt19937 rng(1);
  auto enc = make_encoder(small_config());
  enc->eval();
  std::vector<FeatureSlice> slices = {random_slice(rng, 5, 3, 0), random_slice(rng, 2, 0, 4)};
  std::vector<const FeatureSlice*> ptrs = {&slices[0], &slices[1]};
  EncoderBatch b = make_batch(ptrs);
  EXPECT_EQ(b.values[0].sizes(), (std::vector<std::int64_t>{2, 5, kMetricTokenDim}));
  EXPECT_EQ(b.values[1].sizes(), (std::vector<std::int64_t>{2, 3, kTraceTokenDim}));
  EXPECT_TRUE(b.modality_mask[0][2].item<bool>() == false);
  EXPECT_TRUE(b.modality_mask[1][1].item<bool>() == false);
  EncoderOutput o = enc->forward(b);
  EXPECT_EQ(o.state.sizes(), (std::vector<std::int64_t>{2, 8}));
  EXPECT_EQ(o.modality.sizes(), (std::vector<std::int64_t>{2, 3, 8}));
  EXPECT_TRUE(torch::allclose(o.state.norm(2, 1), torch::ones({2}), 1e-5, 1e-5));
  EXPECT_EQ(o.encodings.sizes(), (std::vector<std::int64_t>{2, 3, 32}));  // CLS output and token mean, 2 d_model
  EXPECT_TRUE(torch::isfinite(o.state).all().item<bool>());
}

TEST(NativeEncoder, PaddingAndOtherSlicesDoNotChangeAnEmbedding) {
  // A slice's embedding must not depend on the padding added for other slices
  // in its batch (masking), nor on the other slices themselves.
  torch::manual_seed(2);
  std::mt19937 rng(2);
  auto enc = make_encoder(small_config());
  enc->eval();
  FeatureSlice a = random_slice(rng, 3, 2, 1), big = random_slice(rng, 9, 7, 6);
  auto alone = enc->forward(make_batch({&a}));
  auto with = enc->forward(make_batch({&a, &big}));
  EXPECT_TRUE(torch::allclose(alone.state[0], with.state[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(alone.modality[0], with.modality[0], 1e-5, 1e-5));
}

TEST(NativeEncoder, MissingModalityIsMaskedNotZero) {
  // Fusion must see "missing", not a zero vector: a slice without logs differs
  // from the same slice whose log embedding would be zero, and the missing
  // modality's content never leaks in.
  torch::manual_seed(3);
  FusionMlpOptions fo;
  fo.embed_dim = 4;
  fo.hidden = 8;
  fo.dropout = 0;
  FusionMlp fusion(fo);
  auto mod = torch::randn({1, 3, 4});
  auto mask = torch::tensor({true, true, false}).reshape({1, 3});
  auto out1 = fusion->forward(mod, mask);
  auto mod2 = mod.clone();
  mod2[0][2] = torch::randn({4}) * 100;  // garbage in the masked row
  auto out2 = fusion->forward(mod2, mask);
  EXPECT_TRUE(torch::allclose(out1, out2));
  auto zero = mod.clone();
  zero[0][2].zero_();
  auto all = torch::tensor({true, true, true}).reshape({1, 3});
  auto out3 = fusion->forward(zero, all);
  EXPECT_FALSE(torch::allclose(out1, out3, 1e-4, 1e-4));
}

TEST(NativeEncoder, UnseenNamesStillMap) {
  // Tokens differ only in their name pieces: embeddings differ, no crash for
  // any bucket id.
  torch::manual_seed(4);
  std::mt19937 rng(4);
  auto enc = make_encoder(small_config());
  enc->eval();
  FeatureSlice a = random_slice(rng, 3, 0, 0), b = a;
  for (auto& p : b.tokens[0].pieces)
    if (p != 0) p = 4095;
  auto oa = enc->forward(make_batch({&a})), ob = enc->forward(make_batch({&b}));
  EXPECT_FALSE(torch::allclose(oa.state, ob.state, 1e-5, 1e-5));
}

TEST(NativeEncoder, EmbedSlicesEntityEmbeddingsAndDeterminism) {
  std::mt19937 rng(5);
  std::vector<FeatureSlice> slices;
  for (int i = 0; i < 5; ++i) slices.push_back(random_slice(rng, 4, i % 2 ? 3 : 0, 2, i));
  torch::manual_seed(9);
  auto e1 = make_encoder(small_config());
  torch::manual_seed(9);
  auto e2 = make_encoder(small_config());
  auto r1 = embed_slices(*e1, slices, 2);
  auto r2 = embed_slices(*e2, slices, 3);
  ASSERT_EQ(r1.size(), 5u);
  for (size_t i = 0; i < r1.size(); ++i) {
    ASSERT_EQ(r1[i].state.size(), 8u);
    for (size_t k = 0; k < 8; ++k) EXPECT_NEAR(r1[i].state[k], r2[i].state[k], 1e-5);
    EXPECT_EQ(r1[i].entity_dim, 4);
    EXPECT_EQ(r1[i].entities.size(), 4u);  // entities 0..3 (logs and traces share ids 0..2)
    EXPECT_EQ(r1[i].entity_embeddings.size(), 16u);
    EXPECT_EQ(r1[i].index, static_cast<std::int64_t>(i));
    // the modality encodings (2 d_model each): unit length as a whole, each present modality's block the same
    // length, zeros for the traces the even slices lack
    const auto& enc = r1[i].encodings;
    ASSERT_EQ(enc.size(), 3u * 32u);
    double total = 0, block[3] = {0, 0, 0};
    for (size_t k = 0; k < enc.size(); ++k) {
      total += enc[k] * enc[k];
      block[k / 32] += enc[k] * enc[k];
      EXPECT_NEAR(enc[k], r2[i].encodings[k], 1e-5);
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
    const int present = i % 2 ? 3 : 2;
    for (int m = 0; m < 3; ++m) EXPECT_NEAR(block[m], m == 1 && present == 2 ? 0.0 : 1.0 / present, 1e-5) << i;
  }
}

TEST(NativeEncoder, EntityHeadScoresEachEntityFromItsOwnTokens) {
  std::mt19937 rng(8);
  std::vector<FeatureSlice> slices;
  for (int i = 0; i < 4; ++i) slices.push_back(random_slice(rng, 4, i % 2 ? 3 : 0, 2, i));
  // without the head: no scores, and no head parameters (models saved before it load unchanged)
  torch::manual_seed(3);
  auto plain = make_encoder(small_config());
  for (const auto& p : plain->named_parameters()) EXPECT_EQ(p.key().find("entity_head"), std::string::npos);
  EXPECT_TRUE(embed_slices(*plain, slices, 4)[0].entity_scores.empty());
  EncoderConfig c = small_config();
  c.entity_head = true;
  torch::manual_seed(3);
  auto enc = make_encoder(c);
  auto all = embed_slices(*enc, slices, 4);
  auto one_by_one = embed_slices(*enc, slices, 1);
  ASSERT_EQ(all.size(), 4u);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].entity_scores.size(), all[i].entities.size());
    for (size_t k = 0; k < all[i].entity_scores.size(); ++k)
      EXPECT_NEAR(all[i].entity_scores[k], one_by_one[i].entity_scores[k], 1e-4);  // padding changes nothing
  }
  // an entity's score is the logsumexp of its tokens' logits over every modality
  torch::NoGradGuard ng;
  enc->eval();
  const FeatureSlice& s = slices[1];
  EncoderOutput o = enc->forward(make_batch({&s}));
  std::map<Id, std::vector<double>> per;
  for (int m = 0; m < kNumModalities; ++m)
    for (size_t t = 0; t < s.tokens[m].size(); ++t)
      per[s.tokens[m].entities[t]].push_back(o.entity_logits[m][0][static_cast<std::int64_t>(t)].item<double>());
  ASSERT_EQ(per.size(), all[1].entities.size());
  size_t k = 0;
  for (const auto& [id, v] : per) {
    EXPECT_EQ(all[1].entities[k], id);
    double mx = *std::max_element(v.begin(), v.end()), sum = 0;
    for (double x : v) sum += std::exp(x - mx);
    EXPECT_NEAR(all[1].entity_scores[k], mx + std::log(sum), 1e-4);
    ++k;
  }
}

TEST(NativeEncoder, ThroughputOfDefaultSize) {
  // Default-size encoder, TrainTicket-like slices (47 metric tokens, some
  // trace and log tokens): report slices/s; assert a generous floor so a
  // pathological slowdown fails.
  at::set_num_threads(std::getenv("RS_THREADS") ? std::atoi(std::getenv("RS_THREADS")) : 1);
  torch::manual_seed(6);
  std::mt19937 rng(6);
  std::vector<FeatureSlice> slices;
  for (int i = 0; i < 512; ++i) slices.push_back(random_slice(rng, 47, i % 10 == 0 ? 32 : 0, i % 10 == 0 ? 20 : 0, i));
  auto enc = make_encoder(EncoderConfig{});
  auto t0 = std::chrono::steady_clock::now();
  auto r = embed_slices(*enc, slices, 256);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double rate = slices.size() / s;
  std::printf("embed: %.0f slices/s\n", rate);
  EXPECT_GT(rate, 100.0);
  // one training step (forward + backward) of a 32-slice batch
  enc->train();
  std::vector<const FeatureSlice*> ptrs;
  for (int i = 0; i < 32; ++i) ptrs.push_back(&slices[i]);
  auto batch = make_batch(ptrs);
  t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < 5; ++k) {
    auto o = enc->forward(batch);
    o.state.sum().backward();
  }
  s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("train step: %.1f ms per 32-slice batch\n", 1000 * s / 5);
}

}  // namespace
}  // namespace rslicer
