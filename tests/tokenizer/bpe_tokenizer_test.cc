#include "tokenizer/bpe_tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/errors.h"
#include "test_util.h"
#include "tokenizer/tokenizer_corpus.h"
#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/utf8.h"

namespace rslicer {
namespace {

using Ids = std::vector<std::int32_t>;

// Ids produced by the JS reference (tests/tokenizer/reference_tokenize.mjs).
TEST(Qwen3Tokenizer, GoldenIds) {
  const Qwen3Tokenizer* tok = testing::qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("Hello, world!"), (Ids{9707, 11, 1879, 0}));
  EXPECT_EQ(tok->encode("ts-order-service p99 latency 0.453s (+212% vs baseline)"),
            (Ids{2576, 23810, 23461, 281, 24, 24, 39270, 220, 15, 13, 19, 20, 18, 82, 17973, 17, 16, 17, 4, 6165,
                 25869, 8}));
  EXPECT_EQ(tok->encode("你好，世界"), (Ids{108386, 3837, 99489}));
  EXPECT_EQ(tok->encode("<|im_start|>user\nhi<|im_end|>"), (Ids{151644, 872, 198, 6023, 151645}));
  EXPECT_EQ(tok->encode("it's 2023-01-29T14:50:27Z"),
            (Ids{275, 594, 220, 17, 15, 17, 18, 12, 15, 16, 12, 17, 24, 51, 16, 19, 25, 20, 15, 25, 17, 22, 57}));
  EXPECT_EQ(tok->encode("e\xCC\x81 caf\xC3\xA9"), (Ids{963, 51950}));  // NFC: e + U+0301 == é
  EXPECT_EQ(tok->encode("  \t\n\n  x"), (Ids{256, 15799, 220, 856}));
  EXPECT_EQ(tok->encode("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB ok"), (Ids{145233, 378, 235, 145851, 5394}));
  EXPECT_EQ(tok->encode("\xFF\xFE abc"), (Ids{9973, 39022}));  // two U+FFFD, then " abc"
  EXPECT_TRUE(tok->encode("").empty());
}

TEST(Qwen3Tokenizer, VocabularyAndSpecialTokens) {
  const Qwen3Tokenizer* tok = testing::qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 151669u);
  EXPECT_EQ(tok->token_to_id("<|endoftext|>"), 151643);
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok->token_to_id("</think>"), 151668);
  EXPECT_EQ(tok->token_to_id("Hello"), 9707);
  EXPECT_EQ(tok->token_to_id("\xC4\xA0world"), 1879);  // "Ġworld"
  EXPECT_EQ(tok->token_to_id("definitely not a token"), -1);
  EXPECT_EQ(tok->id_to_token(1879), "\xC4\xA0world");
  EXPECT_TRUE(tok->is_special(151643));
  EXPECT_FALSE(tok->is_special(151657));  // <tool_call> is added but not special
  EXPECT_FALSE(tok->is_special(9707));
  EXPECT_TRUE(tok->regex_jit() || true);  // JIT is optional; the call must not throw
  // Qwen3's own tokenizer.json has a ByteLevel post-processor: nothing is added.
  EXPECT_EQ(tok->encode_with_special("Hello"), tok->encode("Hello"));
  EXPECT_THROW(tok->id_to_token(-1), InvalidInput);
  EXPECT_THROW(tok->decode({151669}), InvalidInput);
}

TEST(Qwen3Tokenizer, DecodeInvertsEncodeUpToNfc) {
  const Qwen3Tokenizer* tok = testing::qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  testing::SplitMix64 rng(7);
  std::vector<std::string> texts = {"Hello, world!", "e\xCC\x81 \xE2\x84\xAB", "<|im_start|>x<|im_end|> y",
                                    "a\xFF" "b\xE2\x82", "\xE1\x84\x80\xE1\x85\xA1 \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"};
  for (int i = 0; i < 300; ++i) texts.push_back(testing::telemetry_line(rng));
  for (const std::string& s : texts) {
    const std::string expected = nfc_normalize(sanitize_utf8(s));
    EXPECT_EQ(tok->decode(tok->encode(s)), expected) << s;
  }
  // Bytes split across tokens are joined before UTF-8 decoding; a dangling
  // partial character becomes U+FFFD.
  const Ids ids = tok->encode("\xE4\xBD\xA0");
  EXPECT_EQ(tok->decode(ids), "\xE4\xBD\xA0");
  EXPECT_EQ(tok->decode({tok->token_to_id("\xC3\xA4")}), "\xEF\xBF\xBD");  // byte E4 alone
}

TEST(Qwen3Tokenizer, LongPiecesUseTheSameMergeOrder) {
  const Qwen3Tokenizer* tok = testing::qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  // Words over 64 bytes go through the heap-based merge loop (the parity
  // test compares its ids with the reference); here: it round-trips and
  // compresses.
  std::string w;
  for (int i = 0; i < 40; ++i) w += "Latency";
  const Ids ids = tok->encode(w);
  EXPECT_EQ(tok->decode(ids), w);
  EXPECT_LT(ids.size(), w.size() / 3);
  // Either side of the 64-byte switch between the two merge loops.
  const Ids a64 = tok->encode(std::string(64, 'a'));
  const Ids a65 = tok->encode(std::string(65, 'a'));
  EXPECT_EQ(tok->decode(a64), std::string(64, 'a'));
  EXPECT_EQ(tok->decode(a65), std::string(65, 'a'));
}

TEST(Qwen3Tokenizer, ThreadsShareOneTokenizer) {
  const Qwen3Tokenizer* tok = testing::qwen3_tokenizer();
  ASSERT_NE(tok, nullptr);
  testing::SplitMix64 rng(11);
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) texts.push_back(testing::telemetry_line(rng));
  std::vector<Ids> expected;
  for (const auto& t : texts) expected.push_back(tok->encode(t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Qwen3Tokenizer copy = *tok;  // copies share state
      for (int rep = 0; rep < 3; ++rep)
        for (std::size_t i = 0; i < texts.size(); ++i)
          if (copy.encode(texts[(i + t * 37) % texts.size()]) != expected[(i + t * 37) % texts.size()]) ++mismatches[t];
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

class TokenizerFileErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("rslicer_tok_err"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;

  // Expects from_file(path) to throw E with a message naming the file and `fragment`.
  template <typename E>
  void expect_error(const std::string& path, const std::string& fragment) {
    try {
      Qwen3Tokenizer::from_file(path);
      ADD_FAILURE() << "no exception for " << path;
    } catch (const E& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  }
};

TEST_F(TokenizerFileErrors, MissingFile) { expect_error<IoError>(dir_ + "/nope.json", "cannot open"); }

TEST_F(TokenizerFileErrors, CorruptJson) {
  testing::write_file(dir_ + "/t.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0");
  expect_error<InvalidInput>(dir_ + "/t.json", "not valid JSON");
}

TEST_F(TokenizerFileErrors, WrongStructure) {
  testing::write_file(dir_ + "/a.json", "[1, 2, 3]");
  expect_error<InvalidInput>(dir_ + "/a.json", "not a JSON object");
  testing::write_file(dir_ + "/b.json", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  expect_error<InvalidInput>(dir_ + "/b.json", "WordPiece");
  testing::write_file(dir_ + "/c.json", R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})");
  expect_error<InvalidInput>(dir_ + "/c.json", "is not an integer id");
  testing::write_file(dir_ + "/d.json",
                      R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                          "pre_tokenizer": {"type": "Whitespace"}})");
  expect_error<InvalidInput>(dir_ + "/d.json", "ByteLevel");
  testing::write_file(dir_ + "/e.json",
                      R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]},
                          "pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<InvalidInput>(dir_ + "/e.json", "merges[0]");
}

// A tiny hand-made byte-level BPE exercises the flags Qwen3's file does not use.
TEST_F(TokenizerFileErrors, TinyTokenizerHonoursAddedTokenFlags) {
  nlohmann::json vocab = nlohmann::json::object();
  // The 256 byte symbols, then merges "h e" -> "he", "he y" -> "hey".
  std::int32_t next = 0;
  // GPT-2's byte-level alphabet.
  std::vector<char32_t> alphabet(256);
  char32_t extra = 256;
  for (int b = 0; b < 256; ++b) {
    const bool direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    alphabet[b] = direct ? static_cast<char32_t>(b) : extra++;
  }
  for (int b = 0; b < 256; ++b) {
    std::string s;
    append_utf8(s, alphabet[b]);
    vocab[s] = next++;
  }
  vocab["he"] = next++;
  vocab["hey"] = next++;
  const std::int32_t he = next - 2, hey = next - 1;
  nlohmann::json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"h e", "he y"}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", "\\s+|\\S+"}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "[BOS]"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"[BOS]", {{"id", "[BOS]"}, {"ids", {1000}}, {"tokens", {"[BOS]"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens",
       {{{"id", 1000}, {"content", "[BOS]"}, {"special", true}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}},
        {{"id", 1001}, {"content", "[L]"}, {"special", false}, {"lstrip", true}, {"rstrip", false}, {"normalized", false}},
        {{"id", 1002}, {"content", "[R]"}, {"special", false}, {"lstrip", false}, {"rstrip", true}, {"normalized", false}},
        {{"id", 1003}, {"content", "[R]x"}, {"special", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}},
        // normalized: matched after NFC, so "e" + U+0301 finds it; "x" + U+0301 does not.
        {{"id", 1004}, {"content", "\xC3\xA9"}, {"special", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", true}},
        // not normalized: matched on the raw text only.
        {{"id", 1005}, {"content", "\xC3\xB1"}, {"special", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}}}}};
  const std::string path = dir_ + "/tiny.json";
  testing::write_file(path, j.dump());
  const Qwen3Tokenizer tok = Qwen3Tokenizer::from_file(path);
  EXPECT_EQ(tok.vocab_size(), 1006u);
  EXPECT_EQ(tok.encode("he\xC3\xA9"), (Ids{he, 1004}));
  EXPECT_EQ(tok.encode("hee\xCC\x81"), (Ids{he, 1004}));  // NFC first, then the normalized token
  EXPECT_EQ(tok.encode("\xC3\xB1"), (Ids{1005}));
  EXPECT_NE(tok.encode("n\xCC\x83"), (Ids{1005}));       // raw-text token: no match before NFC
  EXPECT_EQ(tok.encode("hey"), (Ids{hey}));
  EXPECT_EQ(tok.encode("he"), (Ids{he}));
  const std::int32_t space = tok.token_to_id("\xC4\xA0");  // "Ġ"
  // lstrip: whitespace left of [L] disappears; rstrip: right of [R].
  EXPECT_EQ(tok.encode("he  [L] he"), (Ids{he, 1001, space, he}));
  EXPECT_EQ(tok.encode("he [R]  he"), (Ids{he, space, 1002, he}));
  // Longest match wins: "[R]x" over "[R]".
  EXPECT_EQ(tok.encode("[R]x"), (Ids{1003}));
  EXPECT_EQ(tok.encode_with_special("hey"), (Ids{1000, hey}));
  EXPECT_EQ(tok.decode({1000, hey, 1001}), "[BOS]hey[L]");
  EXPECT_FALSE(tok.is_special(1001));
  EXPECT_TRUE(tok.is_special(1000));
}

TEST(DefaultTokenizerPath, EnvironmentWinsThenNodeModules) {
  const char* old = std::getenv("RSLICER_TOKENIZER");
  const std::string saved = old ? old : "";
  setenv("RSLICER_TOKENIZER", "/some/where/tokenizer.json", 1);
  EXPECT_EQ(default_tokenizer_path(), "/some/where/tokenizer.json");
  unsetenv("RSLICER_TOKENIZER");
  const std::string found = default_tokenizer_path();
  // The test binary lives under the build folder inside the repository.
  if (testing::exists(testing::qwen3_tokenizer_json_path())) {
    EXPECT_FALSE(found.empty());
    EXPECT_TRUE(std::filesystem::equivalent(found, testing::qwen3_tokenizer_json_path())) << found;
  }
  if (old) setenv("RSLICER_TOKENIZER", saved.c_str(), 1);
}

}  // namespace
}  // namespace rslicer
