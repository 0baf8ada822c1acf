// Dropout whose mask comes from a counter-based generator instead of
// libtorch's per-element Mersenne Twister. On the CPU libtorch 1.13 draws
// each element of a dropout mask through a locked mt19937 call, which took
// about 40 % of the native encoder's training step (docs/performance.md,
// "Training: the dropout mask"). This module keeps the semantics of
// torch::nn::Dropout (inverted dropout: training keeps an element with
// probability 1 - p and scales it by 1 / (1 - p); evaluation is the
// identity) and has no parameters or buffers, so saved models do not change.
// Each call takes one 64-bit seed from libtorch's default generator, so
// torch::manual_seed still makes training reproducible. Tensors off the CPU
// get libtorch's dropout.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace rslicer {

// The keep mask of `sizes` as 0 or 1 / (1 - p) in `dtype`, drawn from `seed`: element i's draw depends only on
// (seed, i). p in [0, 1), used to the nearest multiple of 2^-16.
torch::Tensor dropout_mask(at::IntArrayRef sizes, double p, std::uint64_t seed, torch::Dtype dtype);

// Process-wide: FastDropout draws its masks with libtorch's own dropout instead (bench/train_step_bench's
// baseline; off by default).
void use_libtorch_dropout(bool on);

class FastDropoutImpl : public torch::nn::Module {
 public:
  explicit FastDropoutImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(FastDropout);

}  // namespace rslicer
