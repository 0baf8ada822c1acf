// Qwen3 encoder throughput on this machine: tokens/s of a 0.6B-shaped model
// (28 layers, hidden 1024, 16 query heads, 8 KV heads, head_dim 128,
// intermediate 3072) with random weights built in memory, reported as a
// fraction of the matmul-bound limit measured in the same run: a large
// torch::matmul in the same dtype gives the achievable FLOP/s, and the
// encoder's FLOPs are counted as
//   linear:    2 * (non-embedding parameters) * tokens
//   attention: 2 * seq * (seq + 1) * (num_heads * head_dim) per layer and
//              sequence: QK^T and PV over the causal lower triangle, the work a
//              perfect causal kernel does (the full square, 4 * seq^2 * width,
//              would overstate the fraction: the encoder skips most of the
//              masked upper triangle block by block)
// The vocabulary is 1000 rows: an embedding lookup costs no FLOPs.
//
// usage: qwen3_bench [--dtypes fp32,bf16] [--configs 1x256,1x1024,4x256]
//                    [--iters 1] [--threads N (default: all cores)] [--layers 28]
// A config is BATCHxSEQ; each runs once to warm up, then --iters timed calls
// (the best is reported). The defaults take about 2-4 minutes on 2 cores.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model/hf_config.h"
#include "model/qwen3_encoder.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

// FLOP/s of C[m,n] = A[m,k] B[k,n] in `dtype`, best of `reps` after a warm-up.
double matmul_flops(torch::ScalarType dtype, std::int64_t m, std::int64_t k, std::int64_t n, int reps) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({m, k}).to(dtype);
  auto b = torch::randn({k, n}).to(dtype);
  torch::matmul(a, b);
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    auto c = torch::matmul(a, b);
    best = std::min(best, seconds_since(t0));
  }
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) / best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dtypes = {"fp32", "bf16"};
  std::vector<std::pair<std::int64_t, std::int64_t>> configs = {{1, 256}, {1, 1024}, {4, 256}};  // (batch, seq)
  int iters = 1;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::int64_t layers = 28;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dtypes") {
      dtypes = split_list(value);
    } else if (flag == "--configs") {
      configs.clear();
      for (const auto& v : split_list(value)) {
        const auto x = v.find('x');
        if (x == std::string::npos) {
          std::fprintf(stderr, "bad config %s (expected BATCHxSEQ)\n", v.c_str());
          return 1;
        }
        configs.emplace_back(std::stoll(v.substr(0, x)), std::stoll(v.substr(x + 1)));
      }
    } else if (flag == "--iters") {
      iters = std::stoi(value);
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--layers") {
      layers = std::stoll(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 1;
    }
  }
  if (threads > 0) torch::set_num_threads(threads);

  rslicer::Qwen3Config config;  // Qwen3-Embedding-0.6B shape
  config.vocab_size = 1000;
  config.num_hidden_layers = layers;
  const std::int64_t embedding_params = config.vocab_size * config.hidden_size;
  const double linear_params = static_cast<double>(rslicer::qwen3_parameter_count(config) - embedding_params);
  const double attn_width = static_cast<double>(config.num_attention_heads * config.head_dim);

  std::printf("qwen3_bench: %lld layers, hidden %lld, heads %lld/%lld, head_dim %lld, intermediate %lld, "
              "%.1fM non-embedding params, torch threads %d\n",
              static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.hidden_size),
              static_cast<long long>(config.num_attention_heads), static_cast<long long>(config.num_key_value_heads),
              static_cast<long long>(config.head_dim), static_cast<long long>(config.intermediate_size),
              linear_params / 1e6, torch::get_num_threads());
  std::printf("%-5s %5s %5s %9s %9s %10s %12s %12s %8s\n", "dtype", "batch", "seq", "sec/call", "tokens/s",
              "GFLOP/call", "GFLOP/s", "matmul GF/s", "fraction");

  for (const auto& dtype_name : dtypes) {
    rslicer::Qwen3EncoderOptions options;
    options.device = "cpu";
    options.compute_dtype = dtype_name;
    options.max_length = 1 << 20;
    const auto t_init = Clock::now();
    auto encoder = rslicer::Qwen3TextEncoder::random(config, 1234, options);
    std::fprintf(stderr, "[%s] random weights in %.1f s\n", dtype_name.c_str(), seconds_since(t_init));
    const auto dtype = dtype_name == "bf16" ? torch::kBFloat16 : torch::kFloat32;

    for (const auto& [batch, seq] : configs) {
      {
        std::vector<std::vector<std::int32_t>> ids(static_cast<std::size_t>(batch));
        for (std::size_t r = 0; r < ids.size(); ++r)
          for (std::int64_t j = 0; j < seq; ++j)
            ids[r].push_back(static_cast<std::int32_t>((j * 7919 + static_cast<std::int64_t>(r) * 131) % config.vocab_size));
        encoder->embed_ids(ids);  // warm-up
        double best = 1e30;
        for (int it = 0; it < iters; ++it) {
          const auto t0 = Clock::now();
          encoder->embed_ids(ids);
          best = std::min(best, seconds_since(t0));
        }
        // baseline measured right after, so machine load affects both alike
        const double peak = matmul_flops(dtype, std::max<std::int64_t>(seq * batch, 1024), config.hidden_size,
                                         config.intermediate_size, 3);
        const double tokens = static_cast<double>(batch * seq);
        const double flops = 2.0 * linear_params * tokens +
                             2.0 * static_cast<double>(seq) * static_cast<double>(seq + 1) * attn_width *
                                 static_cast<double>(config.num_hidden_layers) * static_cast<double>(batch);
        std::printf("%-5s %5lld %5lld %9.3f %9.1f %10.1f %12.1f %12.1f %8.2f\n", dtype_name.c_str(),
                    static_cast<long long>(batch), static_cast<long long>(seq), best, tokens / best, flops / 1e9,
                    flops / best / 1e9, peak / 1e9, flops / best / peak);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
