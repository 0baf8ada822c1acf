#include "model/dropout.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace rslicer {

namespace {

std::atomic<bool> libtorch_dropout{false};

// splitmix64's finaliser over a counter: a different, well-mixed 64-bit value for each (seed, index).
inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void check_rate(double p) {
  RSLICER_CHECK(p >= 0 && p < 1, InvalidInput, "dropout probability must be in [0, 1), got ", p);
}

}  // namespace

torch::Tensor dropout_mask(at::IntArrayRef sizes, double p, std::uint64_t seed, torch::Dtype dtype) {
  check_rate(p);
  // Each 64-bit draw gives four 16-bit lanes; an element is dropped when its lane is below drop_below, so the
  // rate is drop_below / 2^16, and the scale of the kept elements is taken from that rate (a mean of exactly 1).
  const auto drop_below = static_cast<std::uint32_t>(std::min<long>(std::lround(p * 65536.0), 65535));
  const double scale = 65536.0 / static_cast<double>(65536 - drop_below);
  const bool in_float = dtype == torch::kFloat32;
  const float keep = in_float ? static_cast<float>(scale) : 1.0f;  // other dtypes: 0 / 1 here, scaled below
  auto mask = torch::empty(sizes, torch::TensorOptions().dtype(torch::kFloat32));
  float* out = mask.data_ptr<float>();
  const std::int64_t n = mask.numel();
  const std::int64_t words = (n + 3) / 4;
  at::parallel_for(0, words, 16384, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t w = begin; w < end; ++w) {
      const std::uint64_t r = mix(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(w + 1));
      const std::int64_t base = 4 * w;
      if (base + 4 <= n) {
        out[base] = static_cast<float>((r & 0xffffU) >= drop_below) * keep;
        out[base + 1] = static_cast<float>(((r >> 16) & 0xffffU) >= drop_below) * keep;
        out[base + 2] = static_cast<float>(((r >> 32) & 0xffffU) >= drop_below) * keep;
        out[base + 3] = static_cast<float>((r >> 48) >= drop_below) * keep;
      } else {
        for (std::int64_t k = 0; base + k < n; ++k)
          out[base + k] = static_cast<float>(((r >> (16 * k)) & 0xffffU) >= drop_below) * keep;
      }
    }
  });
  return in_float ? mask : mask.to(dtype).mul_(scale);
}

void use_libtorch_dropout(bool on) { libtorch_dropout = on; }

FastDropoutImpl::FastDropoutImpl(double p) : p_(p) { check_rate(p); }

torch::Tensor FastDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ <= 0 || x.numel() == 0) return x;
  // off the CPU libtorch's own masks are fast (and this generator writes host memory)
  if (libtorch_dropout || !x.is_cpu()) return torch::dropout(x, p_, true);
  const auto seed = static_cast<std::uint64_t>(
      torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::kLong).item<std::int64_t>());
  return x * dropout_mask(x.sizes(), p_, seed, x.scalar_type());
}

}  // namespace rslicer
