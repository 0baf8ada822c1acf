// The Qwen3 decoder stack (Qwen3Model in Hugging Face transformers) with the
// libtorch C++ frontend, for inference: token embedding, N x [RMSNorm ->
// grouped-query self-attention with per-head q/k RMSNorm and rotary
// embeddings -> residual -> RMSNorm -> SwiGLU MLP -> residual], final RMSNorm.
//
// Parameter names equal the Hugging Face names without the "model." prefix
// (embed_tokens.weight, layers.3.self_attn.q_proj.weight, norm.weight, ...),
// so weights are found by scope name; load_qwen3_weights() fills them from a
// WeightReader and never touches files itself.
//
// Masking: attention_mask [batch, seq] marks real tokens (1) and padding (0)
// and may pad on the left or the right. Position ids count real tokens only,
// so a sequence gives the same states whatever padding surrounds it. Every
// token may attend to itself, so padding rows never produce NaN.
#pragma once

// Module headers only (about half the parse time of <torch/torch.h>).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "model/hf_config.h"

namespace rslicer {

class WeightReader;

// y = w * x / sqrt(mean(x^2) + eps), statistics in fp32 (as in HF Qwen3RMSNorm).
class Qwen3RMSNormImpl : public torch::nn::Module {
 public:
  Qwen3RMSNormImpl(std::int64_t dim, double eps, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // [..., dim] -> [..., dim]
  torch::Tensor weight;                           // [dim]
  double eps;
};
TORCH_MODULE(Qwen3RMSNorm);

// y = x W^T (+ b); weights start uninitialised (torch::empty) until loaded.
class Qwen3LinearImpl : public torch::nn::Module {
 public:
  Qwen3LinearImpl(std::int64_t in, std::int64_t out, bool bias, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // [..., in] -> [..., out]
  torch::Tensor weight;                           // [out, in]
  torch::Tensor bias;                             // [out] or undefined
};
TORCH_MODULE(Qwen3Linear);

// Token embedding table; parameter "weight" [vocab, hidden].
class Qwen3EmbeddingImpl : public torch::nn::Module {
 public:
  Qwen3EmbeddingImpl(std::int64_t vocab, std::int64_t hidden, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& ids);  // [batch, seq] int64 -> [batch, seq, hidden]
  torch::Tensor weight;                             // [vocab, hidden]
};
TORCH_MODULE(Qwen3Embedding);

// Rotary tables for the given positions: cos and sin [batch, seq, head_dim]
// in `dtype`, with HF's layout (frequencies repeated twice, rotate_half).
// Angles are computed in fp32 like HF's Qwen3RotaryEmbedding.
struct RotaryTables {
  torch::Tensor cos;  // [batch, seq, head_dim]
  torch::Tensor sin;  // [batch, seq, head_dim]
};
RotaryTables qwen3_rotary_tables(const torch::Tensor& position_ids,  // [batch, seq] int64
                                 std::int64_t head_dim, double theta, torch::ScalarType dtype);
// x * cos + rotate_half(x) * sin; x [batch, heads, seq, head_dim], tables [batch, seq, head_dim].
torch::Tensor qwen3_apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

class Qwen3AttentionImpl : public torch::nn::Module {
 public:
  Qwen3AttentionImpl(const Qwen3Config& config, const torch::TensorOptions& options);
  // x [batch, seq, hidden]; key_mask [batch, seq] bool (true = real token)
  // -> [batch, seq, hidden]. Causal; padding keys are masked; every query sees itself.
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rotary, const torch::Tensor& key_mask);

  Qwen3Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  Qwen3RMSNorm q_norm{nullptr}, k_norm{nullptr};
  std::int64_t num_heads, num_kv_heads, head_dim;
  std::int64_t query_block = 256;             // query rows per attention block (causal: later keys skipped)
  std::int64_t max_score_elements = 1 << 26;  // and fewer rows when one score block would exceed this
};
TORCH_MODULE(Qwen3Attention);

class Qwen3MLPImpl : public torch::nn::Module {
 public:
  Qwen3MLPImpl(const Qwen3Config& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x)), [..., hidden]
  Qwen3Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Qwen3MLP);

class Qwen3DecoderLayerImpl : public torch::nn::Module {
 public:
  Qwen3DecoderLayerImpl(const Qwen3Config& config, const torch::TensorOptions& options);
  // x [batch, seq, hidden], key_mask [batch, seq] bool -> [batch, seq, hidden]
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rotary, const torch::Tensor& key_mask);
  Qwen3RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Qwen3Attention self_attn{nullptr};
  Qwen3MLP mlp{nullptr};
};
TORCH_MODULE(Qwen3DecoderLayer);

class Qwen3ModelImpl : public torch::nn::Module {
 public:
  // Parameters are allocated (uninitialised) with `options` (dtype, device).
  Qwen3ModelImpl(const Qwen3Config& config, const torch::TensorOptions& options);

  // input_ids [batch, seq] int64 (any device), attention_mask [batch, seq]
  // (1 = token, 0 = padding; undefined = no padding) -> final-normed hidden
  // states [batch, seq, hidden] in the parameter dtype.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {});

  // Hidden state of the last real token of each row: [batch, hidden], parameter dtype.
  torch::Tensor forward_last_token(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {});

  const Qwen3Config& config() const { return config_; }
  Qwen3Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  Qwen3RMSNorm norm{nullptr};

 private:
  // Runs embeddings and all decoder layers (no final norm): [batch, seq, hidden].
  torch::Tensor body(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  Qwen3Config config_;
};
TORCH_MODULE(Qwen3Model);

// Fills every parameter of `model` from `reader`. A parameter "layers.0.mlp.up_proj.weight"
// is looked up as "model.layers.0.mlp.up_proj.weight" and then without the prefix
// (Qwen3-Embedding checkpoints store Qwen3Model without it). F32/F16/BF16 are
// converted to the parameter dtype. Throws ModelError naming the checkpoint and
// the tensor for a missing tensor, a shape mismatch, an unsupported dtype, or
// decoder layers beyond config.num_hidden_layers.
void load_qwen3_weights(Qwen3ModelImpl& model, const WeightReader& reader);

// Fills every parameter with seeded random values (normal, std 0.02; norm
// weights near 1), for benchmarks and tests that need no checkpoint.
void init_qwen3_random(Qwen3ModelImpl& model, std::uint64_t seed);

}  // namespace rslicer
