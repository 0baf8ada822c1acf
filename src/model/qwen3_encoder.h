// Qwen3-Embedding text encoder: a Hugging Face Qwen3 folder (config.json,
// tokenizer.json, model.safetensors or sharded safetensors with
// model.safetensors.index.json) -> one L2-normalised vector per text, pooled
// from the last real token (the appended <|endoftext|>), optionally truncated
// to a Matryoshka prefix and renormalised.
//
// This header does not include libtorch; callers of embed_ids() include
// <torch/torch.h> themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/hf_config.h"

namespace at {
class Tensor;
}

namespace rslicer {

class WeightReader;
class Qwen3ModelImpl;

struct Qwen3EncoderOptions {
  std::string device = "auto";         // "auto" (CUDA when torch::cuda::is_available()), "cpu", "cuda", "cuda:N"
  std::string compute_dtype = "fp32";  // "fp32" or "bf16" (weights are converted once at load)
  std::int64_t truncate_dim = 0;       // Matryoshka: keep the first N dims, then renormalise (0 = hidden_size)
  std::int64_t max_length = 8192;      // longer inputs are cut to their first max_length tokens
  std::int64_t batch_size = 8;         // sequences per forward pass (sorted by length to limit padding)
  std::string tokenizer_path;          // tokenizer.json; empty = <model_dir>/tokenizer.json
  bool append_eos = true;              // embed_texts appends <|endoftext|> when the tokenizer did not
  std::int64_t num_threads = 0;        // CPU threads for torch (0 = leave torch's setting)
};

// The Qwen3-Embedding query format: "Instruct: {task}\nQuery:{query}".
// Documents are embedded without a prefix.
std::string qwen3_query_prompt(const std::string& task, const std::string& query);

class Qwen3TextEncoder {
 public:
  // Loads <model_dir>/config.json and the safetensors weights (see SafetensorsReader).
  static std::unique_ptr<Qwen3TextEncoder> load(const std::string& model_dir,
                                                const Qwen3EncoderOptions& options = {});
  // Weights from any reader (in-memory tests); embed_texts needs options.tokenizer_path.
  static std::unique_ptr<Qwen3TextEncoder> from_reader(const Qwen3Config& config, const WeightReader& reader,
                                                       const Qwen3EncoderOptions& options = {});
  // Seeded random weights (benchmarks).
  static std::unique_ptr<Qwen3TextEncoder> random(const Qwen3Config& config, std::uint64_t seed,
                                                  const Qwen3EncoderOptions& options = {});
  ~Qwen3TextEncoder();

  // Token id sequences -> [n, dim()] fp32 on the CPU, rows L2-normalised.
  // Ids are used as given (no special tokens added), cut to max_length.
  // Throws InvalidInput for an empty sequence or an id outside [0, vocab_size).
  at::Tensor embed_ids(const std::vector<std::vector<std::int32_t>>& ids);

  // Texts -> tokenize() -> embed_ids(); one vector of dim() floats per text.
  std::vector<std::vector<float>> embed_texts(const std::vector<std::string>& texts);

  // The ids embed_texts() feeds for `text`: tokenizer.json's encoding with
  // special tokens, <|endoftext|> appended when missing (append_eos), cut to
  // max_length keeping the final <|endoftext|>.
  std::vector<std::int32_t> tokenize(const std::string& text);

  std::int64_t dim() const;                   // output width (truncate_dim or hidden_size)
  const Qwen3Config& config() const { return config_; }
  const Qwen3EncoderOptions& options() const { return options_; }
  std::string device_name() const;            // "cpu", "cuda:0", ...
  Qwen3ModelImpl& model();

 private:
  Qwen3TextEncoder(const Qwen3Config& config, const Qwen3EncoderOptions& options);
  struct Impl;
  Qwen3Config config_;
  Qwen3EncoderOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rslicer
