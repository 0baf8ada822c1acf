// IdString: a string for trace and span ids. Up to 32 bytes (a 128-bit id
// in hex) live inside the object, longer ones on the heap, so copying a
// span (the slicer puts each in up to three windows) allocates nothing;
// std::string's small buffer holds only 15 bytes, less than a 16-character
// span id. Reads like a const std::string: size(), empty(), comparisons,
// conversion to std::string_view and std::string.
#pragma once

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>

namespace rslicer {

class IdString {
 public:
  static constexpr size_t kInline = 32;

  IdString() noexcept { inline_[0] = '\0'; }
  IdString(std::string_view s) { init(s); }  // NOLINT: implicit, like std::string
  IdString(const std::string& s) { init(s); }  // NOLINT
  IdString(const char* s) { init(s); }  // NOLINT
  IdString(const IdString& o) { init(o.view()); }
  IdString(IdString&& o) noexcept { steal(o); }
  ~IdString() { release(); }

  IdString& operator=(const IdString& o) {
    if (this != &o) assign(o.view());
    return *this;
  }
  IdString& operator=(IdString&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  IdString& operator=(std::string_view s) { return assign(s); }
  IdString& operator=(const std::string& s) { return assign(s); }
  IdString& operator=(const char* s) { return assign(s); }

  IdString& assign(std::string_view s) {
    if (s.size() <= kInline || s.size() > capacity_) {
      // Fits inline, or needs a larger heap block: start over (s may alias our storage only when it fits).
      if (s.size() <= kInline) {
        char tmp[kInline];
        std::memcpy(tmp, s.data(), s.size());
        release();
        std::memcpy(inline_, tmp, s.size());
        if (s.size() < kInline) inline_[s.size()] = '\0';
        size_ = static_cast<std::uint32_t>(s.size());
        return *this;
      }
      std::string copy(s);
      release();
      init(copy);
      return *this;
    }
    std::memmove(heap_, s.data(), s.size());  // reuses the heap block
    heap_[s.size()] = '\0';
    size_ = static_cast<std::uint32_t>(s.size());
    return *this;
  }
  // "" rather than string_view(): its null data() reached memcpy (UB even for 0 bytes; UBSan).
  void clear() { assign(std::string_view("", 0)); }

  const char* data() const { return capacity_ ? heap_ : inline_; }
  size_t size() const { return size_; }
  size_t length() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data(), size_}; }
  std::string str() const { return std::string(view()); }
  operator std::string_view() const { return view(); }  // NOLINT
  operator std::string() const { return str(); }        // NOLINT
  char operator[](size_t i) const { return data()[i]; }

  friend bool operator==(const IdString& a, const IdString& b) { return a.view() == b.view(); }
  friend bool operator!=(const IdString& a, const IdString& b) { return !(a == b); }
  friend bool operator<(const IdString& a, const IdString& b) { return a.view() < b.view(); }
  friend bool operator==(const IdString& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(std::string_view a, const IdString& b) { return a == b.view(); }
  friend bool operator!=(const IdString& a, std::string_view b) { return a.view() != b; }
  friend bool operator!=(std::string_view a, const IdString& b) { return a != b.view(); }
  friend bool operator==(const IdString& a, const std::string& b) { return a.view() == b; }
  friend bool operator==(const std::string& a, const IdString& b) { return a == b.view(); }
  friend bool operator!=(const IdString& a, const std::string& b) { return a.view() != b; }
  friend bool operator!=(const std::string& a, const IdString& b) { return a != b.view(); }
  friend bool operator==(const IdString& a, const char* b) { return a.view() == b; }
  friend bool operator==(const char* a, const IdString& b) { return a == b.view(); }
  friend bool operator!=(const IdString& a, const char* b) { return a.view() != b; }
  friend bool operator!=(const char* a, const IdString& b) { return a != b.view(); }
  friend std::string operator+(const IdString& a, char c) { return a.str() + c; }
  friend std::string operator+(const IdString& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const std::string& a, const IdString& b) { return std::string(a).append(b.view()); }
  friend std::string operator+(std::string&& a, const IdString& b) { return std::move(a.append(b.view())); }
  friend std::ostream& operator<<(std::ostream& os, const IdString& s) { return os << s.view(); }

 private:
  void init(std::string_view s) {
    size_ = static_cast<std::uint32_t>(s.size());
    if (s.size() <= kInline) {
      std::memcpy(inline_, s.data(), s.size());
      if (s.size() < kInline) inline_[s.size()] = '\0';
      capacity_ = 0;
    } else {
      heap_ = new char[s.size() + 1];
      std::memcpy(heap_, s.data(), s.size());
      heap_[s.size()] = '\0';
      capacity_ = static_cast<std::uint32_t>(s.size());
    }
  }
  void steal(IdString& o) noexcept {
    size_ = o.size_;
    capacity_ = o.capacity_;
    if (capacity_) {
      heap_ = o.heap_;
      o.capacity_ = 0;
    } else {
      std::memcpy(inline_, o.inline_, kInline);
    }
    o.size_ = 0;
    o.inline_[0] = '\0';
  }
  void release() noexcept {
    if (capacity_) delete[] heap_;
    capacity_ = 0;
    size_ = 0;
  }

  union {
    char inline_[kInline];  // not terminated when exactly kInline long; use data() + size()
    char* heap_;
  };
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;  // heap block size (without the terminator); 0 when inline
};

}  // namespace rslicer

template <>
struct std::hash<rslicer::IdString> {
  size_t operator()(const rslicer::IdString& s) const noexcept { return std::hash<std::string_view>{}(s.view()); }
};
