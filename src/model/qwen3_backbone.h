// Building blocks of the Qwen3 text backbone (issue 3): the per-modality
// texts of a slice (serialize/serialize.h: SerializedSlice, passed here as
// three strings so this module does not link serialize/) are embedded by a
// FROZEN Qwen3TextEncoder, then a small trainable head projects each
// modality to embed_dim and fuses them with g_phi (fusion_mlp.h).
//
// Qwen3Backbone (below) puts both behind the RuntimeEncoder interface:
// make_encoder({backbone: "qwen3", qwen3_dir: DIR}) builds it, and the
// pipeline fills FeatureSlice::texts when the backbone is qwen3.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/torch.h>

#include "model/fusion_mlp.h"
#include "model/qwen3_encoder.h"
#include "model/runtime_encoder.h"

namespace rslicer {

// Texts of one slice, indexed by static_cast<int>(Modality); "" = the slice
// does not have that modality (masked, never embedded).
using SliceTexts = std::array<std::string, 3>;

struct Qwen3TextEmbedderOptions {
  std::size_t max_cache = 200000;  // cached text embeddings (frozen encoder: a text always maps to the same vector); 0 = no cache
};

// Frozen text embeddings of slice texts, cached by text.
class Qwen3TextEmbedder {
 public:
  Qwen3TextEmbedder(std::shared_ptr<Qwen3TextEncoder> encoder, Qwen3TextEmbedderOptions options = {});

  struct Output {
    torch::Tensor modality;  // [B, 3, D] fp32 CPU, rows L2-normalised; zero rows where mask is false
    torch::Tensor mask;      // [B, 3] bool: the modality text is non-empty
  };
  // Embeds every non-empty text once (uncached texts in one embed_texts call).
  Output embed(const std::vector<SliceTexts>& texts);

  std::int64_t dim() const { return encoder_->dim(); }
  std::size_t cache_size() const { return cache_.size(); }
  std::int64_t encoded_texts() const { return encoded_; }  // texts sent to the encoder so far (cache misses)

 private:
  std::shared_ptr<Qwen3TextEncoder> encoder_;
  Qwen3TextEmbedderOptions options_;
  std::unordered_map<std::string, std::vector<float>> cache_;
  std::int64_t encoded_ = 0;
};

struct Qwen3TextHeadOptions {
  std::int64_t text_dim = 1024;     // D: width of the frozen text embeddings (Qwen3TextEncoder::dim())
  std::int64_t embed_dim = 64;      // E: per-modality and state embedding width (EncoderConfig::embed_dim)
  std::int64_t fusion_hidden = 128; // hidden width of g_phi
  double dropout = 0.1;             // in g_phi (training only)
};

// Trainable part: one linear projection per modality D -> E, L2-normalised,
// then g_phi over the three modality embeddings and the mask.
class Qwen3TextHeadImpl : public torch::nn::Module {
 public:
  explicit Qwen3TextHeadImpl(const Qwen3TextHeadOptions& options);
  struct Output {
    torch::Tensor modality;  // [B, 3, E] L2-normalised (rows where mask is false are not meaningful)
    torch::Tensor state;     // [B, E] L2-normalised
  };
  // text [B, 3, D], mask [B, 3] bool.
  Output forward(const torch::Tensor& text, const torch::Tensor& mask);

 private:
  Qwen3TextHeadOptions options_;
  std::array<torch::nn::Linear, 3> proj_{nullptr, nullptr, nullptr};
  FusionMlp fusion_{nullptr};
};
TORCH_MODULE(Qwen3TextHead);

// The paper's backbone behind the encoder interface: the three texts of
// each FeatureSlice (FeatureSlice::texts) go through the FROZEN Qwen3 model
// loaded from config.qwen3_dir (weights are never trained or saved: the
// model folder stores only the trainable head, so the checkpoint folder must
// exist when the model is loaded again); the trainable Qwen3TextHead
// projects and fuses them. Per-entity embeddings for root cause
// localisation come from a linear projection of each entity's feature
// tokens (the text route has no per-entity text), trained with the head.
class Qwen3Backbone : public RuntimeEncoder {
 public:
  // ModelError when qwen3_dir is empty or does not load.
  explicit Qwen3Backbone(const EncoderConfig& config);
  std::string backbone() const override { return "qwen3"; }
  const EncoderConfig& config() const override { return config_; }
  EncoderOutput forward(const EncoderBatch& batch) override;
  const Qwen3TextEmbedder& embedder() const { return *embedder_; }

 private:
  EncoderConfig config_;
  std::unique_ptr<Qwen3TextEmbedder> embedder_;
  Qwen3TextHead head_{nullptr};
  std::array<torch::nn::Linear, kNumModalities> entity_proj_{nullptr, nullptr, nullptr};
};

}  // namespace rslicer
