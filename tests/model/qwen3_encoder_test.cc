// Qwen3 encoder parity with the independent python reference, batching and
// padding invariance, Matryoshka truncation, and load errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/errors.h"
#include "model/qwen3_encoder.h"
#include "model/qwen3_model.h"
#include "model/safetensors.h"
#include "qwen3_test_util.h"

namespace rslicer {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;
using testing::qwen3_reference;
using testing::random_ids;

constexpr int kVocab = 300;

std::vector<std::vector<std::int32_t>> parity_cases() {
  auto ids = random_ids({1, 3, 20, 63, 200}, kVocab, 3);
  ids.push_back({0, kVocab - 1, 150, 0, 0, 1});  // extremes of the vocabulary, repeats
  return ids;
}

Qwen3EncoderOptions cpu_options(std::int64_t batch = 8, std::string dtype = "fp32") {
  Qwen3EncoderOptions o;
  o.device = "cpu";
  o.batch_size = batch;
  o.compute_dtype = std::move(dtype);
  return o;
}

void expect_parity(const std::string& model_dir, double tol) {
  RSLICER_REQUIRE_PYTHON();
  const auto ids = parity_cases();
  auto ref = qwen3_reference(model_dir, ids, {0, 16});
  auto enc = Qwen3TextEncoder::load(model_dir, cpu_options());
  auto got = enc->embed_ids(ids);
  ASSERT_EQ(got.sizes(), (std::vector<std::int64_t>{static_cast<std::int64_t>(ids.size()), 64}));
  EXPECT_LT(max_abs_diff(got, ref.embeddings[0]), tol) << model_dir;
  // unit rows
  EXPECT_LT((got.norm(2, 1) - 1).abs().max().item<double>(), 1e-5);
}

TEST(Qwen3Encoder, MatchesReferenceF32Checkpoint) { expect_parity(testing::tiny_f32(), 1e-4); }
TEST(Qwen3Encoder, MatchesReferenceBf16Checkpoint) { expect_parity(testing::tiny_bf16(), 1e-4); }
TEST(Qwen3Encoder, MatchesReferenceF16CheckpointWithoutModelPrefix) { expect_parity(testing::tiny_f16(), 1e-4); }
TEST(Qwen3Encoder, MatchesReferenceShardedCheckpoint) {
  RSLICER_REQUIRE_PYTHON();
  const auto dir = testing::tiny_sharded();
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(SafetensorsReader(dir).num_files(), 3u);
  expect_parity(dir, 1e-4);
}

TEST(Qwen3Encoder, HiddenStatesMatchReferenceAtEveryPosition) {
  RSLICER_REQUIRE_PYTHON();
  const auto dir = testing::tiny_f32();
  const auto ids = random_ids({37}, kVocab, 11);
  auto ref = qwen3_reference(dir, ids, {0}, /*hidden=*/true);
  auto enc = Qwen3TextEncoder::load(dir, cpu_options());
  torch::NoGradGuard no_grad;
  auto input = torch::tensor(std::vector<std::int64_t>(ids[0].begin(), ids[0].end())).unsqueeze(0);
  auto hidden = enc->model().forward(input);  // [1, 37, 64]
  ASSERT_EQ(hidden.sizes(), (std::vector<std::int64_t>{1, 37, 64}));
  EXPECT_LT(max_abs_diff(hidden[0], ref.hidden[0]), 1e-4);
}

TEST(Qwen3Encoder, MatryoshkaTruncationMatchesReference) {
  RSLICER_REQUIRE_PYTHON();
  const auto dir = testing::tiny_f32();
  const auto ids = parity_cases();
  auto ref = qwen3_reference(dir, ids, {16});
  auto opts = cpu_options();
  opts.truncate_dim = 16;
  auto enc = Qwen3TextEncoder::load(dir, opts);
  EXPECT_EQ(enc->dim(), 16);
  auto got = enc->embed_ids(ids);
  EXPECT_EQ(got.size(1), 16);
  EXPECT_LT(max_abs_diff(got, ref.embeddings[16]), 1e-4);
  // truncation = prefix of the full vector, renormalised
  auto full = Qwen3TextEncoder::load(dir, cpu_options())->embed_ids(ids).narrow(1, 0, 16);
  auto renorm = full / full.norm(2, 1, true);
  EXPECT_LT((renorm - got).abs().max().item<double>(), 1e-6);

  opts.truncate_dim = 65;
  EXPECT_THROW(Qwen3TextEncoder::load(dir, opts), InvalidInput);
}

TEST(Qwen3Encoder, BatchingAndOrderDoNotChangeEmbeddings) {
  const auto dir = testing::tiny_f32();
  const auto ids = random_ids({9, 40, 2, 25, 1, 77, 9}, kVocab, 5);
  auto alone = torch::empty({static_cast<std::int64_t>(ids.size()), 64});
  {
    auto enc = Qwen3TextEncoder::load(dir, cpu_options(1));
    for (std::size_t i = 0; i < ids.size(); ++i) alone[i] = enc->embed_ids({ids[i]})[0];
  }
  for (std::int64_t batch : {2, 3, 8}) {
    auto enc = Qwen3TextEncoder::load(dir, cpu_options(batch));
    auto together = enc->embed_ids(ids);
    EXPECT_LT((together - alone).abs().max().item<double>(), 2e-6) << "batch " << batch;
  }
}

TEST(Qwen3Model, LeftAndRightPaddingGiveTheUnpaddedStates) {
  const auto dir = testing::tiny_f32();
  auto enc = Qwen3TextEncoder::load(dir, cpu_options());
  auto& model = enc->model();
  torch::NoGradGuard no_grad;
  const auto ids = random_ids({12}, kVocab, 21)[0];
  auto seq = torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end()));  // [12]
  auto plain = model.forward(seq.unsqueeze(0))[0];                               // [12, 64]
  const std::int64_t pad = 5, s = 12 + pad;
  auto right = torch::full({2, s}, 7, torch::kInt64), right_mask = torch::zeros({2, s}, torch::kInt64);
  right[0].narrow(0, 0, 12).copy_(seq);
  right_mask[0].narrow(0, 0, 12).fill_(1);
  right_mask[1].fill_(1);  // a longer neighbour
  auto left = torch::full({2, s}, 7, torch::kInt64), left_mask = torch::zeros({2, s}, torch::kInt64);
  left[0].narrow(0, pad, 12).copy_(seq);
  left_mask[0].narrow(0, pad, 12).fill_(1);
  left_mask[1].fill_(1);
  auto r = model.forward(right, right_mask);
  auto l = model.forward(left, left_mask);
  EXPECT_FALSE(r.isnan().any().item<bool>());
  EXPECT_FALSE(l.isnan().any().item<bool>());
  EXPECT_LT((r[0].narrow(0, 0, 12) - plain).abs().max().item<double>(), 2e-5);
  EXPECT_LT((l[0].narrow(0, pad, 12) - plain).abs().max().item<double>(), 2e-5);
  // pooling picks the last real token wherever the padding is
  auto pr = model.forward_last_token(right, right_mask);
  auto pl = model.forward_last_token(left, left_mask);
  EXPECT_LT((pr[0] - plain[11]).abs().max().item<double>(), 2e-5);
  EXPECT_LT((pl[0] - plain[11]).abs().max().item<double>(), 2e-5);
}

TEST(Qwen3Model, ChunkedAttentionEqualsOneBlock) {
  const auto dir = testing::tiny_f32();
  auto enc = Qwen3TextEncoder::load(dir, cpu_options());
  auto& model = enc->model();
  torch::NoGradGuard no_grad;
  const auto ids = random_ids({50, 31}, kVocab, 4);
  auto input = torch::zeros({2, 50}, torch::kInt64), mask = torch::zeros({2, 50}, torch::kInt64);
  for (int r = 0; r < 2; ++r)
    for (std::size_t j = 0; j < ids[r].size(); ++j) {
      input[r][static_cast<std::int64_t>(j)] = ids[r][j];
      mask[r][static_cast<std::int64_t>(j)] = 1;
    }
  auto whole = model.forward(input, mask);              // with padding (row 1)
  auto whole_row0 = model.forward(input.narrow(0, 0, 1));  // without padding
  for (const auto& layer : *model.layers) layer->as<Qwen3DecoderLayer>()->self_attn->query_block = 7;
  auto chunked = model.forward(input, mask);  // 7 query rows per block
  auto chunked_row0 = model.forward(input.narrow(0, 0, 1));
  EXPECT_LT((whole - chunked).abs().max().item<double>(), 1e-5);
  EXPECT_LT((whole_row0 - chunked_row0).abs().max().item<double>(), 1e-5);
  EXPECT_LT((whole_row0 - whole.narrow(0, 0, 1)).abs().max().item<double>(), 1e-5);
  for (const auto& layer : *model.layers) {
    auto attn = layer->as<Qwen3DecoderLayer>()->self_attn;
    attn->query_block = 256;
    attn->max_score_elements = 2 * 4 * 50 * 5;  // the memory cap also splits: 5 rows per block
  }
  EXPECT_LT((whole - model.forward(input, mask)).abs().max().item<double>(), 1e-5);
}

TEST(Qwen3Encoder, Bf16ComputeIsCloseToReference) {
  RSLICER_REQUIRE_PYTHON();
  const auto dir = testing::tiny_f32();
  const auto ids = parity_cases();
  auto ref = qwen3_reference(dir, ids, {0});
  auto enc = Qwen3TextEncoder::load(dir, cpu_options(8, "bf16"));
  auto got = enc->embed_ids(ids);
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  const double diff = max_abs_diff(got, ref.embeddings[0]);
  EXPECT_LT(diff, 0.05);
  EXPECT_GT(diff, 1e-6);  // really ran in bf16
}

TEST(Qwen3Encoder, RejectsBadIds) {
  auto enc = Qwen3TextEncoder::load(testing::tiny_f32(), cpu_options());
  EXPECT_THROW(enc->embed_ids({{1, 2}, {}}), InvalidInput);
  try {
    enc->embed_ids({{1, 2}, {3, kVocab}});
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("sequence 1, position 1: token id 300"), std::string::npos) << e.what();
  }
  EXPECT_EQ(enc->embed_ids({}).size(0), 0);
}

TEST(Qwen3Encoder, MaxLengthCutsLongInputs) {
  const auto dir = testing::tiny_f32();
  auto opts = cpu_options();
  opts.max_length = 10;
  auto enc = Qwen3TextEncoder::load(dir, opts);
  const auto ids = random_ids({30}, kVocab, 2)[0];
  auto cut = enc->embed_ids({ids});
  auto first10 = Qwen3TextEncoder::load(dir, cpu_options())->embed_ids({{ids.begin(), ids.begin() + 10}});
  EXPECT_LT((cut - first10).abs().max().item<double>(), 1e-6);
}

TEST(Qwen3Encoder, RandomWeightsNeedNoCheckpoint) {
  Qwen3Config c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.intermediate_size = 48;
  auto enc = Qwen3TextEncoder::random(c, 3, cpu_options());
  auto e = enc->embed_ids({{1, 2, 3}, {4}});
  EXPECT_EQ(e.sizes(), (std::vector<std::int64_t>{2, 32}));
  EXPECT_FALSE(e.isnan().any().item<bool>());
  auto again = Qwen3TextEncoder::random(c, 3, cpu_options())->embed_ids({{1, 2, 3}, {4}});
  EXPECT_TRUE(torch::equal(e, again));  // seeded
}

TEST(Qwen3Encoder, QueryPromptFormat) {
  EXPECT_EQ(qwen3_query_prompt("Find the faulty service", "db latency spike"),
            "Instruct: Find the faulty service\nQuery:db latency spike");
}

// --- load errors ------------------------------------------------------------

// A copy of the f32 checkpoint rewritten by `edit` (through the C++ writer).
std::string edited_checkpoint(const std::string& name, const std::function<void(MemoryWeightReader&)>& edit,
                              const std::string& config_text = "") {
  const std::string src = testing::tiny_f32();
  const std::string dir = testing::make_temp_dir("qwen3_" + name);
  SafetensorsReader reader(src);
  MemoryWeightReader mem;
  for (const auto& n : reader.names()) {
    auto t = reader.get(n);
    mem.add(n, t.info.dtype, t.info.shape, std::vector<std::uint8_t>(t.data, t.data + t.size));
  }
  edit(mem);
  write_safetensors(dir + "/model.safetensors", mem);
  testing::write_file(dir + "/config.json", config_text.empty() ? testing::read_text(src + "/config.json") : config_text);
  return dir;
}

std::string load_error(const std::string& dir) {
  try {
    Qwen3TextEncoder::load(dir, cpu_options());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Qwen3EncoderErrors, RewrittenCheckpointStillMatches) {
  // the C++ writer round-trips: same embeddings as the python-written file
  const auto dir = edited_checkpoint("copy", [](MemoryWeightReader&) {});
  const auto ids = random_ids({5, 8}, kVocab, 9);
  auto a = Qwen3TextEncoder::load(dir, cpu_options())->embed_ids(ids);
  auto b = Qwen3TextEncoder::load(testing::tiny_f32(), cpu_options())->embed_ids(ids);
  EXPECT_TRUE(torch::equal(a, b));
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, MissingTensorIsNamed) {
  const auto dir = edited_checkpoint("missing", [](MemoryWeightReader& m) {
    MemoryWeightReader copy;
    for (const auto& n : m.names())
      if (n != "model.layers.1.self_attn.k_norm.weight") {
        auto t = m.get(n);
        copy.add(n, t.info.dtype, t.info.shape, std::vector<std::uint8_t>(t.data, t.data + t.size));
      }
    m = copy;
  });
  EXPECT_THROW(Qwen3TextEncoder::load(dir, cpu_options()), ModelError);
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("missing tensor \"model.layers.1.self_attn.k_norm.weight\""), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, MismatchedShapeIsNamed) {
  const auto dir = edited_checkpoint("shape", [](MemoryWeightReader& m) {
    m.add_f32("model.layers.0.mlp.up_proj.weight", {96, 64}, std::vector<float>(96 * 64, 0.1f));
  });
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("\"model.layers.0.mlp.up_proj.weight\" has shape [96, 64] but config.json implies [128, 64]"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, WrongDtypeIsNamed) {
  const auto dir = edited_checkpoint("dtype", [](MemoryWeightReader& m) {
    m.add("model.norm.weight", WeightDType::kI32, {64}, std::vector<std::uint8_t>(64 * 4, 0));
  });
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("\"model.norm.weight\" has dtype I32"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, TruncatedFileIsNamed) {
  const std::string dir = testing::make_temp_dir("qwen3_truncated");
  fs::copy(testing::tiny_f32() + "/config.json", dir + "/config.json");
  const std::string data = testing::read_text(testing::tiny_f32() + "/model.safetensors");
  testing::write_file(dir + "/model.safetensors", data.substr(0, data.size() - 1000));
  auto msg = load_error(dir);
  EXPECT_NE(msg.find("truncated safetensors file"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir + "/model.safetensors"), std::string::npos) << msg;
  // cut inside the header
  testing::write_file(dir + "/model.safetensors", data.substr(0, 100));
  msg = load_error(dir);
  EXPECT_NE(msg.find("truncated safetensors file: header length"), std::string::npos) << msg;
  testing::write_file(dir + "/model.safetensors", data.substr(0, 5));
  msg = load_error(dir);
  EXPECT_NE(msg.find("truncated safetensors file (5 bytes"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, MissingShardIsNamed) {
  RSLICER_REQUIRE_PYTHON();
  const std::string dir = testing::make_temp_dir("qwen3_shard");
  fs::copy(testing::tiny_sharded(), dir, fs::copy_options::recursive);
  fs::remove(dir + "/model-00002-of-00003.safetensors");
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("model-00002-of-00003.safetensors: cannot open"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, ConfigWithFewerLayersThanCheckpoint) {
  auto cfg = nlohmann::json::parse(testing::read_text(testing::tiny_f32() + "/config.json"));
  cfg["num_hidden_layers"] = 1;
  const auto dir = edited_checkpoint("layers", [](MemoryWeightReader&) {}, cfg.dump());
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("belongs to decoder layer 1 but config.json has num_hidden_layers = 1"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Qwen3EncoderErrors, MissingFolderAndConfig) {
  EXPECT_THROW(Qwen3TextEncoder::load("/nonexistent/qwen3", cpu_options()), IoError);
  const std::string dir = testing::make_temp_dir("qwen3_noconfig");
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("no config.json"), std::string::npos) << msg;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
