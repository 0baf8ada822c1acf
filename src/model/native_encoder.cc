#include "model/native_encoder.h"

#include <cmath>

namespace rslicer {

namespace F = torch::nn::functional;

NativeLayerImpl::NativeLayerImpl(std::int64_t d_model, std::int64_t heads, std::int64_t ff_dim, double dropout)
    : d_model_(d_model), heads_(heads) {
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  qkv_ = register_module("qkv", torch::nn::Linear(d_model, 3 * d_model));
  out_ = register_module("out", torch::nn::Linear(d_model, d_model));
  ff1_ = register_module("ff1", torch::nn::Linear(d_model, ff_dim));
  ff2_ = register_module("ff2", torch::nn::Linear(ff_dim, d_model));
  drop_ = register_module("drop", FastDropout(dropout));
}

torch::Tensor NativeLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& valid) {
  const auto B = x.size(0), T = x.size(1), H = heads_, Dh = d_model_ / heads_;
  auto qkv = qkv_(ln1_(x)).reshape({B, T, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, Dh]
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(Dh));  // [B, H, T, T]
  auto key_mask = valid.logical_not().unsqueeze(1).unsqueeze(2);                             // [B, 1, 1, T]
  scores = scores.masked_fill(key_mask, -1e9);
  auto attn = drop_(torch::softmax(scores, -1));
  auto ctx = torch::matmul(attn, v).permute({0, 2, 1, 3}).reshape({B, T, d_model_});  // [B, T, d]
  auto h = x + drop_(out_(ctx));
  return h + drop_(ff2_(drop_(torch::gelu(ff1_(ln2_(h))))));
}

NativeEncoder::NativeEncoder(const EncoderConfig& c) : config_(c) {
  const auto d = c.d_model;
  piece_emb_ = register_module(
      "piece_emb", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.name_buckets, d).padding_idx(0)));
  modality_emb_ = register_module("modality_emb", torch::nn::Embedding(kNumModalities, d));
  kind_emb_ = register_module("kind_emb", torch::nn::Embedding(6, d));
  for (int m = 0; m < kNumModalities; ++m)
    value_proj_[m] = register_module("value_proj" + std::to_string(m),
                                     torch::nn::Linear(token_dim(static_cast<Modality>(m)), d));
  cls_ = register_parameter("cls", torch::randn({kNumModalities, d}) * 0.02);
  in_norm_ = register_module("in_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  out_norm_ = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.layers; ++i) layers_->push_back(NativeLayer(d, c.heads, c.ff_dim, c.dropout));
  pool_ = register_module("pool", torch::nn::Linear(2 * d, c.embed_dim));
  entity_proj_ = register_module("entity_proj", torch::nn::Linear(d, c.entity_dim));
  drop_ = register_module("drop", FastDropout(c.dropout));
  FusionMlpOptions fo;
  fo.modalities = kNumModalities;
  fo.embed_dim = c.embed_dim;
  fo.hidden = c.fusion_hidden;
  fo.dropout = c.dropout;
  fusion_ = register_module("fusion", FusionMlp(fo));
  register_entity_head(c);
  {
    torch::NoGradGuard g;
    piece_emb_->weight.mul_(0.1);
    piece_emb_->weight[0].zero_();
    modality_emb_->weight.mul_(0.1);
    kind_emb_->weight.mul_(0.1);
  }
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> NativeEncoder::encode_modality(int m, const EncoderBatch& b) {
  const auto& values = b.values[m];  // [B, T, dim]
  const auto B = values.size(0), T = values.size(1), d = config_.d_model;
  auto dtype = cls_.dtype();
  auto tok = value_proj_[m](values.to(dtype));                        // [B, T, d]
  tok = tok + piece_emb_(b.pieces[m]).sum(2);                         // [B, T, P, d] -> [B, T, d]
  tok = tok + kind_emb_(b.kinds[m]);
  auto mod = modality_emb_->weight[m];                                // [d]
  tok = tok + mod;
  auto cls = (cls_[m] + mod).reshape({1, 1, d}).expand({B, 1, d});   // [B, 1, d]
  auto x = torch::cat({cls, tok}, 1);                                 // [B, 1 + T, d]
  x = drop_(in_norm_(x));
  auto valid = torch::cat({torch::ones({B, 1}, torch::kBool), b.valid[m]}, 1);  // [B, 1 + T]
  for (const auto& layer : *layers_) x = layer->as<NativeLayer>()->forward(x, valid);
  x = out_norm_(x);
  auto tokens = x.slice(1, 1);                                        // [B, T, d]
  auto vm = b.valid[m].to(dtype).unsqueeze(-1);                       // [B, T, 1]
  auto mean = (tokens * vm).sum(1) / vm.sum(1).clamp_min(1.0);        // [B, d]
  auto encoding = torch::cat({x.select(1, 0), mean}, -1);             // [B, 2d]
  auto pooled = pool_(encoding);                                      // [B, E]
  pooled = F::normalize(pooled, F::NormalizeFuncOptions().dim(-1).eps(1e-8));
  (void)T;
  return {encoding, pooled, tokens};
}

EncoderOutput NativeEncoder::forward(const EncoderBatch& b) {
  EncoderOutput out;
  const auto B = b.modality_mask.size(0);
  auto dtype = cls_.dtype();
  std::vector<torch::Tensor> pooled, encodings;
  for (int m = 0; m < kNumModalities; ++m) {
    bool any = b.modality_mask.select(1, m).any().item<bool>();
    if (!any) {
      // no slice of the batch has this modality: its row is masked everywhere
      pooled.push_back(torch::zeros({B, config_.embed_dim}, dtype));
      encodings.push_back(torch::zeros({B, 2 * config_.d_model}, dtype));
      out.entity_tokens[m] = torch::zeros({B, b.values[m].size(1), config_.entity_dim}, dtype);
      continue;
    }
    auto [encoding, p, tokens] = encode_modality(m, b);
    encodings.push_back(encoding);
    pooled.push_back(p);
    out.entity_tokens[m] = entity_proj_(tokens);  // [B, T, entity_dim]
  }
  out.modality = torch::stack(pooled, 1);  // [B, 3, E]
  out.encodings = torch::stack(encodings, 1);  // [B, 3, 2d]
  out.modality_mask = b.modality_mask;
  out.state = fusion_(out.modality, b.modality_mask);
  score_entities(out);
  return out;
}

}  // namespace rslicer
