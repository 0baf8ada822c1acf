// UTF-8 helpers of the tokenizer: validation, WHATWG-style repair of invalid
// bytes, NFC normalisation (utf8proc) and JavaScript's whitespace set.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.h"  // append_utf8

namespace rslicer {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Replaces every ill-formed subsequence by U+FFFD exactly as the WHATWG
// Encoding Standard's UTF-8 decoder does (JS TextDecoder, "maximal subpart"
// replacement): a bad lead byte, or a truncated sequence, becomes one U+FFFD
// and decoding restarts at the first byte that did not fit. Valid input is
// returned unchanged.
std::string sanitize_utf8(std::string_view s);

// Decodes the code point starting at s[i] of VALID UTF-8 and advances i.
inline char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  if (b0 < 0xE0) {
    const char32_t cp = (char32_t(b0 & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    i += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    const char32_t cp = (char32_t(b0 & 0x0F) << 12) |
                        (char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                        (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    i += 3;
    return cp;
  }
  const char32_t cp = (char32_t(b0 & 0x07) << 18) |
                      (char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 12) |
                      (char32_t(static_cast<unsigned char>(s[i + 2]) & 0x3F) << 6) |
                      (static_cast<unsigned char>(s[i + 3]) & 0x3F);
  i += 4;
  return cp;
}

// Unicode Normalization Form C of VALID UTF-8 (utf8proc; its Unicode version
// is utf8proc_unicode_version()). Text made only of code points below U+0300
// is returned unchanged without calling utf8proc. Throws InvalidInput on
// ill-formed UTF-8.
std::string nfc_normalize(std::string_view s);

// True when `s` certainly is already NFC (all code points below U+0300).
bool is_nfc_quick(std::string_view s);

// JavaScript's \s and String.prototype.trim set: WhiteSpace + LineTerminator
// (TAB, LF, VT, FF, CR, SPACE, NBSP, U+1680, U+2000-200A, U+2028, U+2029,
// U+202F, U+205F, U+3000, U+FEFF). Unlike Unicode White_Space it excludes
// U+0085 and includes U+FEFF.
bool is_js_whitespace(char32_t cp);

}  // namespace rslicer
