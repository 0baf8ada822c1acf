#include "tokenizer/utf8.h"

#include <utf8proc.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/errors.h"
#include "tokenizer/js_unicode_tables.h"

namespace rslicer {

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid sequence starting at s[i], or 0 when it is ill-formed.
inline std::size_t valid_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  const std::size_t n = s.size();
  auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
    if (i + k >= n) return false;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return b >= lo && b <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const std::size_t len = valid_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  // WHATWG UTF-8 decoder (https://encoding.spec.whatwg.org/#utf-8-decoder).
  std::string out;
  out.reserve(s.size() + 16);
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(static_cast<char>(b0));
      ++i;
      continue;
    }
    std::size_t needed = 0;
    unsigned lower = 0x80, upper = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      needed = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      if (b0 == 0xE0) lower = 0xA0;
      if (b0 == 0xED) upper = 0x9F;
      needed = 2;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      if (b0 == 0xF0) lower = 0x90;
      if (b0 == 0xF4) upper = 0x8F;
      needed = 3;
    } else {
      out += kReplacement;  // not a lead byte
      ++i;
      continue;
    }
    std::size_t seen = 0;
    std::size_t j = i + 1;
    bool ok = true;
    while (seen < needed) {
      if (j >= n) {
        ok = false;
        break;
      }
      const auto b = static_cast<unsigned char>(s[j]);
      if (b < lower || b > upper) {
        ok = false;
        break;
      }
      lower = 0x80;
      upper = 0xBF;
      ++seen;
      ++j;
    }
    if (ok) {
      out.append(s.data() + i, j - i);
    } else {
      out += kReplacement;  // the byte that did not fit is decoded again
    }
    i = j;
  }
  return out;
}

bool is_nfc_quick(std::string_view s) {
  // Code points below U+0300 are encoded with bytes < 0xCC; all of them are
  // starters without a canonical decomposition, so such text is NFC.
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0xCC) return false;
  return true;
}

std::string nfc_normalize(std::string_view s) {
  if (is_nfc_quick(s)) return std::string(s);
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                   static_cast<utf8proc_ssize_t>(s.size()), &result,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {
    throw InvalidInput(cat("NFC normalisation failed: ", utf8proc_errmsg(n)));
  }
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> guard(result, &std::free);
  return std::string(reinterpret_cast<const char*>(result), static_cast<std::size_t>(n));
}

bool is_js_whitespace(char32_t cp) {
  for (std::size_t k = 0; k < js_unicode::kJsSpaceRangeCount; ++k) {
    if (cp < js_unicode::kJsSpaceRanges[k].first) return false;
    if (cp <= js_unicode::kJsSpaceRanges[k].last) return true;
  }
  return false;
}

}  // namespace rslicer
