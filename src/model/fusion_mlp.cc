#include "model/fusion_mlp.h"

namespace rslicer {

FusionMlpImpl::FusionMlpImpl(const FusionMlpOptions& options) : options_(options) {
  missing_ = register_parameter("missing", torch::randn({options.modalities, options.embed_dim}) * 0.02);
  fc1_ = register_module("fc1", torch::nn::Linear(options.modalities * (options.embed_dim + 1), options.hidden));
  fc2_ = register_module("fc2", torch::nn::Linear(options.hidden, options.embed_dim));
  drop_ = register_module("drop", FastDropout(options.dropout));
}

torch::Tensor FusionMlpImpl::forward(const torch::Tensor& modality, const torch::Tensor& mask) {
  const auto B = modality.size(0);
  auto m = mask.to(modality.dtype()).unsqueeze(-1);                             // [B, M, 1]
  auto filled = torch::where(mask.unsqueeze(-1), modality, missing_.unsqueeze(0).expand({B, -1, -1}).to(modality.dtype()));  // [B, M, E]
  auto x = torch::cat({filled, m}, -1).reshape({B, -1});                        // [B, M * (E + 1)]
  x = drop_(torch::gelu(fc1_(x)));                                              // [B, H]
  x = fc2_(x);                                                                  // [B, E]
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-8));
}

}  // namespace rslicer
