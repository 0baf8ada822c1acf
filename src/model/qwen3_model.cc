#include "model/qwen3_model.h"

#include <torch/torch.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/errors.h"
#include "model/safetensors.h"

namespace rslicer {

// ---------------------------------------------------------------------------
// RMSNorm and Linear

Qwen3RMSNormImpl::Qwen3RMSNormImpl(std::int64_t dim, double eps_, const torch::TensorOptions& options)
    : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}, options), /*requires_grad=*/false);
}

torch::Tensor Qwen3RMSNormImpl::forward(const torch::Tensor& x) {
  const auto input_dtype = x.scalar_type();
  auto x32 = x.to(torch::kFloat32);
  auto variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  x32 = x32 * torch::rsqrt(variance + eps);
  return weight * x32.to(input_dtype);
}

Qwen3LinearImpl::Qwen3LinearImpl(std::int64_t in, std::int64_t out, bool with_bias,
                                 const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({out, in}, options), false);
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}, options), false);
}

torch::Tensor Qwen3LinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

Qwen3EmbeddingImpl::Qwen3EmbeddingImpl(std::int64_t vocab, std::int64_t hidden, const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({vocab, hidden}, options), false);
}

torch::Tensor Qwen3EmbeddingImpl::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

// ---------------------------------------------------------------------------
// Rotary embeddings

RotaryTables qwen3_rotary_tables(const torch::Tensor& position_ids, std::int64_t head_dim, double theta,
                                 torch::ScalarType dtype) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(position_ids.device());
  // inv_freq = 1 / theta^(2i / d), i = 0 .. d/2-1  (fp32, as HF computes it)
  auto exponent = torch::arange(0, head_dim, 2, f32.dtype(torch::kInt64)).to(torch::kFloat32) /
                  static_cast<double>(head_dim);
  auto inv_freq = 1.0 / torch::pow(torch::scalar_tensor(theta, f32), exponent);   // [d/2]
  auto freqs = position_ids.to(torch::kFloat32).unsqueeze(-1) * inv_freq;         // [b, s, d/2]
  auto emb = torch::cat({freqs, freqs}, -1);                                      // [b, s, d]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor qwen3_apply_rotary(const torch::Tensor& x, const RotaryTables& t) {
  const std::int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);  // rotate_half
  auto cos = t.cos.unsqueeze(1);             // [b, 1, s, d]
  auto sin = t.sin.unsqueeze(1);
  return x * cos + rotated * sin;
}

// ---------------------------------------------------------------------------
// Attention

Qwen3AttentionImpl::Qwen3AttentionImpl(const Qwen3Config& c, const torch::TensorOptions& options)
    : num_heads(c.num_attention_heads), num_kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  q_proj = register_module("q_proj", Qwen3Linear(c.hidden_size, num_heads * head_dim, c.attention_bias, options));
  k_proj = register_module("k_proj", Qwen3Linear(c.hidden_size, num_kv_heads * head_dim, c.attention_bias, options));
  v_proj = register_module("v_proj", Qwen3Linear(c.hidden_size, num_kv_heads * head_dim, c.attention_bias, options));
  o_proj = register_module("o_proj", Qwen3Linear(num_heads * head_dim, c.hidden_size, c.attention_bias, options));
  q_norm = register_module("q_norm", Qwen3RMSNorm(head_dim, c.rms_norm_eps, options));
  k_norm = register_module("k_norm", Qwen3RMSNorm(head_dim, c.rms_norm_eps, options));
}

torch::Tensor Qwen3AttentionImpl::forward(const torch::Tensor& x, const RotaryTables& rotary,
                                          const torch::Tensor& key_mask) {
  const std::int64_t b = x.size(0), s = x.size(1);
  const std::int64_t groups = num_heads / num_kv_heads;
  // Projections, per-head RMSNorm (before RoPE, as in HF Qwen3), rotary.
  auto q = q_norm(q_proj(x).view({b, s, num_heads, head_dim})).transpose(1, 2);     // [b, H, s, d]
  auto k = k_norm(k_proj(x).view({b, s, num_kv_heads, head_dim})).transpose(1, 2);  // [b, Hkv, s, d]
  auto v = v_proj(x).view({b, s, num_kv_heads, head_dim}).transpose(1, 2);          // [b, Hkv, s, d]
  q = qwen3_apply_rotary(q, rotary) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  k = qwen3_apply_rotary(k, rotary);
  // Grouped-query attention without repeating K/V: query head h uses kv head
  // h / groups (HF repeat_kv), so the groups of one kv head are stacked as rows.
  q = q.reshape({b, num_kv_heads, groups, s, head_dim});  // [b, Hkv, g, s, d]
  auto kt = k.transpose(-1, -2);                          // [b, Hkv, d, s]
  v = v.contiguous();
  auto out = torch::empty({b, num_kv_heads, groups, s, head_dim}, x.options());
  // Query rows in blocks: causal, so block [i0, i1) needs keys [0, i1) only,
  // which skips most of the masked upper triangle on long sequences.
  const std::int64_t per_row = b * num_heads * s;
  const std::int64_t chunk = std::max<std::int64_t>(
      1, std::min({s, query_block, max_score_elements / per_row}));
  const auto idx_options = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  const bool has_padding = !key_mask.all().item<bool>();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (std::int64_t i0 = 0; i0 < s; i0 += chunk) {
    const std::int64_t n = std::min(chunk, s - i0), keys = i0 + n;
    auto qc = q.narrow(3, i0, n).reshape({b, num_kv_heads, groups * n, head_dim});
    auto scores = torch::matmul(qc, kt.narrow(-1, 0, keys));                  // [b, Hkv, g*n, keys]
    scores = scores.view({b, num_kv_heads, groups, n, keys});
    auto qi = torch::arange(i0, i0 + n, idx_options).unsqueeze(1);            // [n, 1]
    if (has_padding) {
      // blocked[b, i, j] = key j after query i, or key j is padding (but never j == i)
      auto kj = torch::arange(keys, idx_options).unsqueeze(0);                // [1, keys]
      auto blocked = (kj > qi).unsqueeze(0)
                         .logical_or(key_mask.narrow(1, 0, keys).logical_not().unsqueeze(1))
                         .logical_and_((kj != qi).unsqueeze(0));              // [b, n, keys]
      scores.masked_fill_(blocked.unsqueeze(1).unsqueeze(1), neg_inf);
    } else {
      // only the block's own keys [i0, i1) can lie after a query
      auto kj = torch::arange(i0, keys, idx_options).unsqueeze(0);            // [1, n]
      scores.narrow(-1, i0, n).masked_fill_(kj > qi, neg_inf);
    }
    auto probs = torch::softmax(scores, -1, torch::kFloat32).to(x.scalar_type());
    auto ctx = torch::matmul(probs.view({b, num_kv_heads, groups * n, keys}),
                             v.narrow(2, 0, keys));                           // [b, Hkv, g*n, d]
    out.narrow(3, i0, n).copy_(ctx.view({b, num_kv_heads, groups, n, head_dim}));
  }
  auto merged = out.view({b, num_heads, s, head_dim}).transpose(1, 2).reshape({b, s, num_heads * head_dim});
  return o_proj(merged);
}

// ---------------------------------------------------------------------------
// MLP, layer, model

Qwen3MLPImpl::Qwen3MLPImpl(const Qwen3Config& c, const torch::TensorOptions& options) {
  gate_proj = register_module("gate_proj", Qwen3Linear(c.hidden_size, c.intermediate_size, false, options));
  up_proj = register_module("up_proj", Qwen3Linear(c.hidden_size, c.intermediate_size, false, options));
  down_proj = register_module("down_proj", Qwen3Linear(c.intermediate_size, c.hidden_size, false, options));
}

torch::Tensor Qwen3MLPImpl::forward(const torch::Tensor& x) {
  auto g = gate_proj(x);
  torch::silu_(g);
  return down_proj(g.mul_(up_proj(x)));
}

Qwen3DecoderLayerImpl::Qwen3DecoderLayerImpl(const Qwen3Config& c, const torch::TensorOptions& options) {
  self_attn = register_module("self_attn", Qwen3Attention(c, options));
  mlp = register_module("mlp", Qwen3MLP(c, options));
  input_layernorm = register_module("input_layernorm", Qwen3RMSNorm(c.hidden_size, c.rms_norm_eps, options));
  post_attention_layernorm =
      register_module("post_attention_layernorm", Qwen3RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

torch::Tensor Qwen3DecoderLayerImpl::forward(const torch::Tensor& x, const RotaryTables& rotary,
                                             const torch::Tensor& key_mask) {
  auto h = x + self_attn(input_layernorm(x), rotary, key_mask);
  return h + mlp(post_attention_layernorm(h));
}

Qwen3ModelImpl::Qwen3ModelImpl(const Qwen3Config& c, const torch::TensorOptions& options) : config_(c) {
  embed_tokens = register_module("embed_tokens", Qwen3Embedding(c.vocab_size, c.hidden_size, options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(Qwen3DecoderLayer(c, options));
  norm = register_module("norm", Qwen3RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

torch::Tensor Qwen3ModelImpl::body(const torch::Tensor& input_ids_in, const torch::Tensor& attention_mask_in) {
  const auto device = embed_tokens->weight.device();
  const auto dtype = embed_tokens->weight.scalar_type();
  RSLICER_CHECK(input_ids_in.dim() == 2, InvalidInput, "input_ids must be [batch, seq], got ",
                input_ids_in.sizes());
  auto input_ids = input_ids_in.to(device, torch::kInt64);
  const std::int64_t b = input_ids.size(0), s = input_ids.size(1);
  RSLICER_CHECK(s <= config_.max_position_embeddings, InvalidInput, "sequence of ", s,
                " tokens exceeds max_position_embeddings ", config_.max_position_embeddings);
  if (b > 0 && s > 0) {
    const auto lo = input_ids.min().item<std::int64_t>(), hi = input_ids.max().item<std::int64_t>();
    RSLICER_CHECK(lo >= 0 && hi < config_.vocab_size, InvalidInput, "token id out of range [0, ",
                  config_.vocab_size, "): min ", lo, ", max ", hi);
  }
  auto mask = attention_mask_in.defined() ? attention_mask_in.to(device).to(torch::kBool)
                                          : torch::ones({b, s}, torch::TensorOptions().dtype(torch::kBool).device(device));
  RSLICER_CHECK(mask.sizes() == input_ids.sizes(), InvalidInput, "attention_mask ", mask.sizes(),
                " does not match input_ids ", input_ids.sizes());

  // Positions count real tokens only: left or right padding gives the same positions.
  auto position_ids = (mask.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);  // [b, s]
  RotaryTables rotary = qwen3_rotary_tables(position_ids, config_.head_dim, config_.rope_theta, dtype);

  auto h = embed_tokens(input_ids);  // [b, s, hidden]
  for (const auto& layer : *layers) h = layer->as<Qwen3DecoderLayer>()->forward(h, rotary, mask);
  return h;
}

torch::Tensor Qwen3ModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  return norm(body(input_ids, attention_mask));
}

torch::Tensor Qwen3ModelImpl::forward_last_token(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  auto h = body(input_ids, attention_mask);  // [b, s, hidden]
  const std::int64_t b = h.size(0), s = h.size(1);
  torch::Tensor last;
  if (attention_mask.defined()) {
    auto m = attention_mask.to(h.device()).to(torch::kInt64);
    auto idx = torch::arange(s, m.options());
    last = (idx.unsqueeze(0) * m).argmax(1);  // index of the last real token  [b]
  } else {
    last = torch::full({b}, s - 1, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
  }
  auto rows = torch::arange(b, last.options());
  return norm(h.index({rows, last}));  // [b, hidden]
}

// ---------------------------------------------------------------------------
// Weights

namespace {

torch::ScalarType torch_dtype_of(WeightDType d) {
  switch (d) {
    case WeightDType::kF32: return torch::kFloat32;
    case WeightDType::kF16: return torch::kFloat16;
    case WeightDType::kBF16: return torch::kBFloat16;
    default: return torch::kFloat32;  // callers check is_float_weight_dtype first
  }
}

// "[model.]layers.12.mlp.up_proj.weight" -> 12; -1 when not a decoder layer tensor.
std::int64_t layer_index_of(std::string name) {
  if (name.rfind("model.", 0) == 0) name = name.substr(6);
  if (name.rfind("layers.", 0) != 0) return -1;
  std::int64_t v = -1;
  for (std::size_t i = 7; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i)
    v = (v < 0 ? 0 : v * 10) + (name[i] - '0');
  return v;
}

}  // namespace

void load_qwen3_weights(Qwen3ModelImpl& model, const WeightReader& reader) {
  torch::NoGradGuard no_grad;
  for (const auto& name : reader.names()) {
    const auto layer = layer_index_of(name);
    if (layer >= model.config().num_hidden_layers)
      throw ModelError(cat(reader.description(), ": tensor \"", name, "\" belongs to decoder layer ", layer,
                           " but config.json has num_hidden_layers = ", model.config().num_hidden_layers));
  }
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor& param = item.value();
    std::string stored = "model." + name;
    if (!reader.contains(stored)) stored = name;
    if (!reader.contains(stored))
      throw ModelError(cat(reader.description(), ": missing tensor \"model.", name, "\" (also tried \"", name,
                           "\")"));
    const TensorBytes t = reader.get(stored);
    if (!is_float_weight_dtype(t.info.dtype))
      throw ModelError(cat(t.info.source, ": tensor \"", stored, "\" has dtype ", dtype_name(t.info.dtype),
                           "; only F32, F16 and BF16 weights are supported"));
    const std::vector<std::int64_t> want(param.sizes().begin(), param.sizes().end());
    if (t.info.shape != want)
      throw ModelError(cat(t.info.source, ": tensor \"", stored, "\" has shape ", shape_string(t.info.shape),
                           " but config.json implies ", shape_string(want)));
    const auto src_dtype = torch_dtype_of(t.info.dtype);
    torch::Tensor src;
    if (reinterpret_cast<std::uintptr_t>(t.data) % dtype_size(t.info.dtype) == 0) {
      src = torch::from_blob(const_cast<std::uint8_t*>(t.data), want, torch::TensorOptions().dtype(src_dtype));
    } else {  // unaligned data in the file: copy into an aligned buffer first
      src = torch::empty(want, torch::TensorOptions().dtype(src_dtype));
      std::memcpy(src.data_ptr(), t.data, t.size);
    }
    param.copy_(src);
  }
}

void init_qwen3_random(Qwen3ModelImpl& model, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& item : model.named_parameters(true)) {
    torch::Tensor& p = item.value();
    auto values = torch::empty(p.sizes(), torch::TensorOptions().dtype(torch::kFloat32));
    const bool is_norm = item.key().find("norm") != std::string::npos;
    if (is_norm) {
      values.uniform_(0.8, 1.2, gen);
    } else {
      values.normal_(0.0, 0.02, gen);
    }
    p.copy_(values);
  }
}

}  // namespace rslicer
