// A set of 64-bit keys with open addressing (linear probing, backward-shift
// deletion): no allocation per key, for hot paths like duplicate filtering.
// Key 0 is reserved as "empty"; callers map a zero key to another value.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rslicer {

class FlatU64Set {
 public:
  explicit FlatU64Set(size_t initial_capacity = 1024) { rehash(pow2_at_least(initial_capacity * 2)); }

  // Inserts `key` (non-zero); false when it was present.
  bool insert(std::uint64_t key) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
    size_t i = index(key);
    while (slots_[i] != 0) {
      if (slots_[i] == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = key;
    ++size_;
    return true;
  }

  bool contains(std::uint64_t key) const {
    for (size_t i = index(key); slots_[i] != 0; i = (i + 1) & mask_)
      if (slots_[i] == key) return true;
    return false;
  }

  void erase(std::uint64_t key) {
    size_t i = index(key);
    while (slots_[i] != key) {
      if (slots_[i] == 0) return;
      i = (i + 1) & mask_;
    }
    // Backward-shift: move later entries of the probe run into the hole.
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
      const size_t home = index(slots_[j]);
      const bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = 0;
    --size_;
  }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  void clear() {
    std::fill(slots_.begin(), slots_.end(), 0);
    size_ = 0;
  }

 private:
  static size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
  }
  size_t index(std::uint64_t key) const {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<size_t>(key) & mask_;
  }
  void rehash(size_t capacity) {
    std::vector<std::uint64_t> old;
    old.swap(slots_);
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    size_ = 0;
    for (std::uint64_t k : old)
      if (k != 0) insert(k);
  }

  std::vector<std::uint64_t> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace rslicer
