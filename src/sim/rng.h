// Deterministic random numbers for the simulator. Everything is built on
// splitmix64 and our own distributions (not <random>'s, whose output differs
// between standard libraries), so a seed gives the same dataset on every
// platform. Streams are keyed by hashing (seed, purpose, index...), so each
// metric interval, pod and trace batch draws from its own stream and the
// result does not depend on chunking or thread count.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace rslicer::sim {

inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Hash of a seed and any number of integer keys.
inline std::uint64_t stream_key(std::uint64_t seed) { return mix64(seed); }
template <typename... Rest>
std::uint64_t stream_key(std::uint64_t seed, std::uint64_t first, Rest... rest) {
  return stream_key(mix64(seed ^ mix64(first + 0x632be59bd9b4e019ULL)), static_cast<std::uint64_t>(rest)...);
}

// Purposes of streams, so that two uses of the same index never share one.
enum StreamPurpose : std::uint64_t {
  kStreamTopology = 1,
  kStreamFaults = 2,
  kStreamTraffic = 3,
  kStreamPodMetrics = 4,
  kStreamNodeMetrics = 5,
  kStreamTraces = 6,
  kStreamBackgroundLogs = 7,
  kStreamPodNoise = 8,
};

class Rng {
 public:
  explicit Rng(std::uint64_t key) : state_(mix64(key)) {}

  std::uint64_t next_u64() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [0, n); n > 0.
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(uniform() * static_cast<double>(n)); }
  bool bernoulli(double p) { return uniform() < p; }
  double normal() {  // Box-Muller, no cached second value (keeps streams simple)
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double lognormal(double mu, double sigma) { return std::exp(mu + sigma * normal()); }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  std::int64_t poisson(double lambda) {
    if (lambda <= 0) return 0;
    if (lambda < 30) {  // Knuth
      const double limit = std::exp(-lambda);
      double p = uniform();
      std::int64_t k = 0;
      while (p > limit) {
        p *= uniform();
        ++k;
      }
      return k;
    }
    const double x = std::floor(lambda + std::sqrt(lambda) * normal() + 0.5);
    return x < 0 ? 0 : static_cast<std::int64_t>(x);
  }
  // Appends n lowercase hex digits.
  void append_hex(std::string& out, int n) {
    static const char kHex[] = "0123456789abcdef";
    std::uint64_t bits = next_u64();
    for (int i = 0; i < n; ++i) {
      if (i > 0 && i % 16 == 0) bits = next_u64();
      out.push_back(kHex[bits & 15]);
      bits >>= 4;
    }
  }

 private:
  std::uint64_t state_;
};

// A standard normal value that is a pure function of (key, index).
inline double hashed_normal(std::uint64_t key, std::int64_t index) {
  Rng r(stream_key(key, static_cast<std::uint64_t>(index)));
  return r.normal();
}

// Smooth noise: standard-normal values at knots every `period_s` seconds,
// interpolated with a smoothstep. A pure function of (key, t), so chunks that
// are generated separately line up.
inline double smooth_noise(std::uint64_t key, double t_s, double period_s) {
  const double x = t_s / period_s;
  const double k = std::floor(x);
  const double f = x - k;
  const double w = f * f * (3 - 2 * f);
  const auto ki = static_cast<std::int64_t>(k);
  return hashed_normal(key, ki) * (1 - w) + hashed_normal(key, ki + 1) * w;
}

}  // namespace rslicer::sim
