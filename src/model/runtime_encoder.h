// The encoder interface both backbones implement (native feature-token
// transformer, Qwen3 text route), the batch they consume and what they
// return. A RuntimeEncoder maps a batch of FeatureSlices to one embedding
// per modality, fuses them with g_phi (model/fusion_mlp.h) into the unified
// state embedding, and exposes per-entity embeddings for root cause
// localisation. Training (train/) only sees this interface.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/config.h"

#include "features/features.h"
#include "slice/embedding.h"

namespace rslicer {

struct EncoderConfig {
  std::string backbone = "native";   // "native" (feature tokens + small transformer) or "qwen3" (frozen text model + projection)
  std::int64_t d_model = 64;         // token width of the shared transformer
  std::int64_t layers = 2;           // transformer layers (shared by all modalities)
  std::int64_t heads = 4;            // attention heads
  std::int64_t ff_dim = 128;         // feed-forward width
  double dropout = 0.1;              // dropout in the transformer and fusion (training only)
  std::int64_t embed_dim = 64;       // unified state embedding size (and per-modality embedding size)
  std::int64_t entity_dim = 32;      // per-entity embedding size
  std::int64_t fusion_hidden = 128;  // hidden width of g_phi
  bool entity_head = false;          // a root-cause score per entity on top of its embedding (L_entity; set by the
                                     // trainer when entity-level labels teach it: train/trainer.h)
  std::int32_t name_buckets = 4096;  // must equal FeatureOptions::name_buckets
  std::string qwen3_dir;             // Hugging Face checkpoint folder for backbone "qwen3"
  static const config::Schema<EncoderConfig>& schema();
};

// A padded batch of FeatureSlices as tensors (CPU). T_m = most tokens of
// modality m in the batch (at least 1, so shapes are never empty).
struct EncoderBatch {
  std::array<torch::Tensor, kNumModalities> values;  // [B, T_m, token_dim(m)] float32
  std::array<torch::Tensor, kNumModalities> pieces;  // [B, T_m, kMaxPieces] int64, 0 = padding
  std::array<torch::Tensor, kNumModalities> kinds;   // [B, T_m] int64, 1 + EntityKind, 0 = none
  std::array<torch::Tensor, kNumModalities> valid;   // [B, T_m] bool, false for padding
  torch::Tensor modality_mask;                       // [B, 3] bool: slice has the modality
  std::vector<const FeatureSlice*> slices;           // the B slices (not owned)
};
EncoderBatch make_batch(const std::vector<const FeatureSlice*>& slices);

struct EncoderOutput {
  torch::Tensor modality;        // [B, 3, embed_dim] per-modality embeddings, L2-normalised; rows where modality_mask is false are NOT meaningful and must be masked
  torch::Tensor modality_mask;   // [B, 3] bool
  torch::Tensor state;           // [B, embed_dim] unified state embedding g_phi(...), L2-normalised
  torch::Tensor encodings;       // [B, 3, P] each modality's encoding under its projection into `modality` (native:
                                 // the CLS output and token mean, P = 2 d_model; qwen3: the frozen text embedding);
                                 // rows where modality_mask is false are NOT meaningful; what the AD kNN reads
                                 // (HeadOptions::ad_layer)
  std::array<torch::Tensor, kNumModalities> entity_tokens;  // [B, T_m, entity_dim] per-token entity projections (padding rows undefined)
  std::array<torch::Tensor, kNumModalities> entity_logits;  // [B, T_m] per-token root-cause logits (config.entity_head;
                                                            // undefined without it); an entity's score is the
                                                            // logsumexp over its tokens (slice_entity_logits)
};

class RuntimeEncoder : public torch::nn::Module {
 public:
  ~RuntimeEncoder() override = default;
  virtual std::string backbone() const = 0;
  virtual const EncoderConfig& config() const = 0;
  virtual EncoderOutput forward(const EncoderBatch& batch) = 0;

 protected:
  // Backbones call these: the first from their constructor (registers the entity head when config.entity_head),
  // the second at the end of forward() (fills out.entity_logits from out.entity_tokens; nothing without the head).
  void register_entity_head(const EncoderConfig& config);
  void score_entities(EncoderOutput& out);

 private:
  torch::nn::Sequential entity_head_{nullptr};  // entity_dim -> entity_dim -> 1
};

// Per-entity root-cause logits of slice `s`, row `row` of `out` (an encoder with an entity head): the logsumexp
// over each entity's tokens of every modality (the slice's own tokens, not the batch's padding); returns [E] in
// the order of `order` (the entities to score; kNoId tokens and entities outside `order` are skipped).
torch::Tensor slice_entity_logits(const EncoderOutput& out, std::int64_t row, const FeatureSlice& s,
                                  const std::vector<Id>& order);

// Builds an encoder with freshly initialised weights (seeded by the caller's
// torch::manual_seed). Throws InvalidInput for an unknown backbone and
// ModelError when the qwen3 route is requested but unavailable.
std::shared_ptr<RuntimeEncoder> make_encoder(const EncoderConfig& config);

// Threads for torch's own kernels (at::set_num_threads) and for the BLAS it calls. Debian's libtorch calls
// libopenblas0-pthread, whose own thread pool at::set_num_threads does not reach: between small matmuls it only
// spins in sched_yield and takes a core (the online pipeline, one slice at a time: serve_bench 97k -> 122k
// records/s with one BLAS thread). A no-op for the BLAS part with another BLAS.
void set_compute_threads(int threads);

// Runs the encoder in eval mode (no grad) over `slices` in batches and returns
// one SliceEmbedding per slice, in order: the state embedding and, per entity
// that has tokens, the mean of its tokens' entity projections (entity ids
// sorted ascending) and, with an entity head, its root-cause logit, and the
// modality encodings (SliceEmbedding::encodings).
std::vector<SliceEmbedding> embed_slices(RuntimeEncoder& encoder, const std::vector<FeatureSlice>& slices,
                                         std::int64_t batch_size = 256, bool progress = false);

}  // namespace rslicer
