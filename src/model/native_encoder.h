// The native backbone: feature tokens (features/features.h) -> one shared
// small pre-LayerNorm transformer for all modalities -> a pooled embedding
// per modality and per-token entity projections; g_phi (fusion_mlp.h) gives
// the state. Token embedding = Linear_m(values) + sum of hashed word-piece
// embeddings of the token's names + modality-type embedding + entity-kind
// embedding. Each modality is encoded as its own sequence (with a learned
// CLS token), so modality embeddings are independent views of the slice, as
// L_modal needs.
#pragma once

#include <array>
#include <tuple>

#include <torch/torch.h>

#include "model/dropout.h"
#include "model/fusion_mlp.h"
#include "model/runtime_encoder.h"

namespace rslicer {

// One pre-LN transformer layer with a key padding mask.
class NativeLayerImpl : public torch::nn::Module {
 public:
  NativeLayerImpl(std::int64_t d_model, std::int64_t heads, std::int64_t ff_dim, double dropout);
  // x [B, T, d], valid [B, T] bool -> [B, T, d]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& valid);

 private:
  std::int64_t d_model_, heads_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, out_{nullptr}, ff1_{nullptr}, ff2_{nullptr};
  FastDropout drop_{nullptr};
};
TORCH_MODULE(NativeLayer);

class NativeEncoder : public RuntimeEncoder {
 public:
  explicit NativeEncoder(const EncoderConfig& config);
  std::string backbone() const override { return "native"; }
  const EncoderConfig& config() const override { return config_; }
  EncoderOutput forward(const EncoderBatch& batch) override;

 private:
  // Encodes one modality: the encoding [B, 2d] (CLS output and token mean), its projection [B, E] (L2-normalised)
  // and the token outputs [B, T, d].
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> encode_modality(int m, const EncoderBatch& batch);

  EncoderConfig config_;
  torch::nn::Embedding piece_emb_{nullptr};   // [name_buckets, d], row 0 = padding
  torch::nn::Embedding modality_emb_{nullptr};  // [3, d]
  torch::nn::Embedding kind_emb_{nullptr};    // [6, d]: 0 none, 1 + EntityKind
  std::array<torch::nn::Linear, kNumModalities> value_proj_{nullptr, nullptr, nullptr};
  torch::Tensor cls_;                          // [3, d]
  torch::nn::LayerNorm in_norm_{nullptr}, out_norm_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear pool_{nullptr};            // [2d -> E] from CLS output and masked mean
  torch::nn::Linear entity_proj_{nullptr};     // [d -> entity_dim]
  FastDropout drop_{nullptr};
  FusionMlp fusion_{nullptr};
};

}  // namespace rslicer
