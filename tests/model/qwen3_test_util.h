// Helpers for the Qwen3 tests: tiny checkpoints and reference embeddings from
// tests/model/qwen3_reference.py (python3 + Debian python3-torch, no
// transformers). Checkpoints are generated once per build folder
// (<build>/test_data/qwen3_<script hash>/<variant>) and reused by every test
// process; generation goes through a temp folder and a rename so parallel
// ctest runs never see half-written files.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace rslicer::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string qwen3_script() { return source_dir() + "/tests/model/qwen3_reference.py"; }

// A python3 that can `import torch`, or "" (with *why set) when there is none.
// RSLICER_PYTHON overrides; /usr/bin/python3 comes before PATH's python3
// because Debian's python3-torch lives there.
inline std::string python_with_torch(std::string* why = nullptr) {
  static std::string found;
  static std::string reason;
  static bool searched = false;
  if (!searched) {
    searched = true;
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("RSLICER_PYTHON")) candidates.push_back(env);
    candidates.push_back("/usr/bin/python3");
    candidates.push_back("python3");
    bool any_python = false;
    for (const auto& c : candidates) {
      int rc = -1;
      run_command(c + " -c 'import sys' >/dev/null 2>&1", &rc);
      if (rc != 0) continue;
      any_python = true;
      run_command(c + " -c 'import torch' >/dev/null 2>&1", &rc);
      if (rc == 0) {
        found = c;
        break;
      }
    }
    if (found.empty())
      reason = any_python ? "python3 is installed but cannot import torch: install Debian's python3-torch "
                            "(apt-get install python3-torch) or set RSLICER_PYTHON"
                          : "python3 not found: the Qwen3 parity tests need python3 with python3-torch "
                            "(or RSLICER_PYTHON)";
  }
  if (why) *why = reason;
  return found;
}

// Fails the current test (and returns) when no usable python exists.
#define RSLICER_REQUIRE_PYTHON()                                   \
  do {                                                             \
    std::string why_;                                              \
    if (::rslicer::testing::python_with_torch(&why_).empty()) {    \
      FAIL() << why_;                                              \
    }                                                              \
  } while (0)

// Folder of a tiny checkpoint made by `qwen3_reference.py make <args>`,
// generated on first use. `variant` names the folder.
inline std::string tiny_qwen3_checkpoint(const std::string& variant, const std::string& make_args) {
  namespace fs = std::filesystem;
  const std::string script = read_text(qwen3_script());
  const auto hash = std::hash<std::string>{}(script + "|" + make_args);
  const fs::path root = fs::path(binary_dir()) / "test_data" / ("qwen3_" + std::to_string(hash % 1000000007ULL));
  const fs::path final_dir = root / variant;
  if (fs::exists(final_dir / "config.json")) return final_dir.string();
  std::string why;
  if (python_with_torch(&why).empty()) throw std::runtime_error(why);
  fs::create_directories(root);
  // Write into a private folder beside the final one, then rename (atomic on one file system).
  const std::string tmp = (root / (variant + ".tmp" + std::to_string(::getpid()))).string();
  fs::remove_all(tmp);
  int rc = -1;
  const std::string cmd = python_with_torch() + " " + qwen3_script() + " make --out " + tmp + " " + make_args + " 2>&1";
  const std::string out = run_command(cmd, &rc);
  if (rc != 0) throw std::runtime_error("checkpoint generation failed: " + cmd + "\n" + out);
  std::error_code ec;
  fs::rename(tmp, final_dir, ec);
  if (ec) fs::remove_all(tmp);  // another test process finished first; use its folder
  return final_dir.string();
}

// The standard tiny checkpoints (2 layers, hidden 64, 4 q heads, 2 kv heads, head_dim 16, vocab 300).
inline std::string tiny_f32() { return tiny_qwen3_checkpoint("f32", "--seed 7 --dtype f32"); }
inline std::string tiny_bf16() { return tiny_qwen3_checkpoint("bf16", "--seed 8 --dtype bf16"); }
inline std::string tiny_f16() { return tiny_qwen3_checkpoint("f16", "--seed 9 --dtype f16 --prefix none"); }
inline std::string tiny_sharded() { return tiny_qwen3_checkpoint("sharded", "--seed 10 --dtype bf16 --shards 3 --prefix none"); }

struct ReferenceOutput {
  std::map<int, std::vector<std::vector<double>>> embeddings;  // dim (0 = full) -> [n][dim]
  std::vector<std::vector<std::vector<double>>> hidden;        // [n][seq][hidden] when requested
};

// Runs the python reference on `ids` (each sequence alone, float64).
inline ReferenceOutput qwen3_reference(const std::string& model_dir, const std::vector<std::vector<std::int32_t>>& ids,
                                       const std::vector<int>& dims = {0}, bool hidden = false) {
  const std::string dir = make_temp_dir("qwen3_ref");
  const std::string ids_path = dir + "/ids.json";
  write_file(ids_path, nlohmann::json(ids).dump());
  std::string dims_arg;
  for (int d : dims) dims_arg += (dims_arg.empty() ? "" : ",") + std::to_string(d);
  int rc = -1;
  const std::string cmd = python_with_torch() + " " + qwen3_script() + " embed --model " + model_dir + " --ids " +
                          ids_path + " --dims " + dims_arg + (hidden ? " --hidden" : "");
  const std::string out = run_command(cmd, &rc);
  std::filesystem::remove_all(dir);
  if (rc != 0) throw std::runtime_error("reference failed (" + std::to_string(rc) + "): " + cmd);
  const auto j = nlohmann::json::parse(out);
  ReferenceOutput r;
  for (auto it = j["embeddings"].begin(); it != j["embeddings"].end(); ++it)
    r.embeddings[std::stoi(it.key())] = it->get<std::vector<std::vector<double>>>();
  if (j.contains("hidden")) r.hidden = j["hidden"].get<std::vector<std::vector<std::vector<double>>>>();
  return r;
}

// Largest |a - b| between a [n, d] tensor and nested vectors.
inline double max_abs_diff(const torch::Tensor& a, const std::vector<std::vector<double>>& b) {
  auto ref = torch::zeros({static_cast<std::int64_t>(b.size()), b.empty() ? 0 : static_cast<std::int64_t>(b[0].size())},
                          torch::kFloat64);
  for (std::size_t i = 0; i < b.size(); ++i)
    for (std::size_t j = 0; j < b[i].size(); ++j) ref[i][j] = b[i][j];
  EXPECT_EQ(a.sizes(), ref.sizes());
  if (a.sizes() != ref.sizes()) return 1e9;
  return (a.to(torch::kFloat64).cpu() - ref).abs().max().item<double>();
}

// Deterministic pseudo-random id sequences of the given lengths in [0, vocab).
inline std::vector<std::vector<std::int32_t>> random_ids(const std::vector<int>& lengths, int vocab, unsigned seed) {
  std::vector<std::vector<std::int32_t>> out;
  unsigned state = seed * 2654435761u + 1;
  for (int len : lengths) {
    std::vector<std::int32_t> seq;
    for (int i = 0; i < len; ++i) {
      state = state * 1664525u + 1013904223u;
      seq.push_back(static_cast<std::int32_t>((state >> 8) % static_cast<unsigned>(vocab)));
    }
    out.push_back(seq);
  }
  return out;
}

}  // namespace rslicer::testing
