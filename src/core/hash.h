// Fast non-cryptographic hashing of short byte strings (span and trace ids,
// names), eight bytes per step. For hash tables and duplicate filters, not
// for anything persisted: the values may change between versions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace rslicer {

inline std::uint64_t hash_mix(std::uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return h;
}

inline std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (s.size() * 0xff51afd7ed558ccdULL);
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = hash_mix(h ^ v);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return hash_mix(h ^ tail ^ (static_cast<std::uint64_t>(n) << 59));
}

// Stable hashes: unlike the ones above, their values are part of saved
// models (feature hash buckets, event-profile keys) and must never change.
constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

// FNV-1a over the bytes of s, starting from h.
inline std::uint64_t fnv1a(std::string_view s, std::uint64_t h = kFnvOffset) {
  for (const unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// The splitmix64 finaliser: spreads every input bit over the output.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Combines a hash with another value (boost-style).
inline std::uint64_t hash_combine(std::uint64_t h, std::uint64_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

}  // namespace rslicer
