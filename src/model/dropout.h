// Dropout whose mask comes from a counter-based generator instead of
// libtorch's Mersenne Twister. On the CPU libtorch 1.13 draws every element
// of a dropout mask from one mt19937 (locked once per call); with it, dropout
// took about 40 % of the native encoder's training step, measured against
// training without dropout, drawing the masks most of it (docs/performance.md,
// "Training: the dropout mask"). This module keeps the semantics of
// torch::nn::Dropout (inverted dropout: training keeps an element with
// probability 1 - p and scales it by 1 / (1 - p); evaluation is the
// identity) and has no parameters or buffers, so saved models do not change.
// Each call takes one 63-bit seed from libtorch's default generator, so
// torch::manual_seed still makes training reproducible. Tensors off the CPU
// get libtorch's dropout.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace rslicer {

// The keep mask of `sizes` as 0 or 1 / (1 - r) in `dtype`, drawn from `seed`: element i's draw depends only on
// (seed, i), not on the thread count. p in [0, 1); the rate r used is p rounded to the nearest multiple of 2^-16
// (at most 1 - 2^-16), and the scale follows r, so the mask's mean is 1 in expectation.
torch::Tensor dropout_mask(at::IntArrayRef sizes, double p, std::uint64_t seed, torch::Dtype dtype);

// Process-wide: FastDropout draws its masks with libtorch's own dropout instead (bench/train_step_bench's
// baseline; off by default).
void use_libtorch_dropout(bool on);

class FastDropoutImpl : public torch::nn::Module {
 public:
  explicit FastDropoutImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double p_;
};
TORCH_MODULE(FastDropout);

}  // namespace rslicer
