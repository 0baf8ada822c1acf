// Hugging Face config.json of a Qwen3 checkpoint (Qwen3ForCausalLM,
// Qwen3Model, Qwen3-Embedding), as one flat hparams struct. No libtorch.
#pragma once

#include <cstdint>
#include <string>

namespace rslicer {

struct Qwen3Config {
  std::string model_type = "qwen3";         // must be "qwen3"
  std::int64_t vocab_size = 151669;         // rows of embed_tokens
  std::int64_t hidden_size = 1024;          // model width
  std::int64_t num_hidden_layers = 28;      // decoder layers
  std::int64_t num_attention_heads = 16;    // query heads
  std::int64_t num_key_value_heads = 8;     // key/value heads (GQA); divides num_attention_heads
  std::int64_t head_dim = 128;              // per-head width (may differ from hidden/heads)
  std::int64_t intermediate_size = 3072;    // SwiGLU inner width
  double rms_norm_eps = 1e-6;               // RMSNorm epsilon (all norms)
  double rope_theta = 1000000.0;            // rotary base
  std::int64_t max_position_embeddings = 32768;  // longest supported sequence
  bool tie_word_embeddings = true;          // lm_head shares embed_tokens (unused by the encoder)
  bool attention_bias = false;              // q/k/v/o projections have biases
  std::string hidden_act = "silu";          // MLP activation; only silu is supported
  std::string torch_dtype = "bfloat16";     // dtype the checkpoint was saved in (informational)
  std::int64_t eos_token_id = 151643;       // <|endoftext|>, the pooled token of Qwen3-Embedding
};

// Parses config.json text; `where` names the file in error messages.
// Missing optional fields keep the defaults above (head_dim defaults to
// hidden_size / num_attention_heads, num_key_value_heads to num_attention_heads).
// Throws ModelError for wrong types, unsupported settings (rope_scaling,
// sliding window, activation) and inconsistent sizes.
Qwen3Config parse_qwen3_config(const std::string& json_text, const std::string& where);
// Reads and parses `path` (a config.json file).
Qwen3Config load_qwen3_config(const std::string& path);
// The config as config.json text (fields above, plus architectures/model_type).
std::string qwen3_config_to_json(const Qwen3Config& config);

// Parameter count of the transformer body (embedding included, no lm_head).
std::int64_t qwen3_parameter_count(const Qwen3Config& config);

}  // namespace rslicer
