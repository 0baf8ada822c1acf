// g_phi: fuses the per-modality embeddings and the modality mask into the
// unified state embedding. Shared by both backbones. A missing modality is
// replaced by a learned "missing <modality>" vector and the mask bits are
// inputs too, so absence is explicit, never a silent zero.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "model/dropout.h"

namespace rslicer {

struct FusionMlpOptions {
  std::int64_t modalities = 3;   // M
  std::int64_t embed_dim = 64;   // E: per-modality and output width
  std::int64_t hidden = 128;     // hidden width
  double dropout = 0.1;          // between the layers (training only)
};

class FusionMlpImpl : public torch::nn::Module {
 public:
  explicit FusionMlpImpl(const FusionMlpOptions& options);
  // modality [B, M, E] (rows where mask is false are ignored), mask [B, M] bool
  // -> [B, E] L2-normalised.
  torch::Tensor forward(const torch::Tensor& modality, const torch::Tensor& mask);

 private:
  FusionMlpOptions options_;
  torch::Tensor missing_;        // [M, E] learned stand-ins for absent modalities
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  FastDropout drop_{nullptr};
};
TORCH_MODULE(FusionMlp);

}  // namespace rslicer
