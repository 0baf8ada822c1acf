// Character classes of JavaScript's RegExp ("u" flag) as code point ranges,
// generated from node's Unicode tables by tests/tokenizer/gen_js_unicode_tables.mjs.
// The reference tokenizer is JS; these tables let the PCRE2 pre-tokenizer
// agree with it on \p{L}, \p{N} and \s whatever Unicode version PCRE2 ships.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rslicer::js_unicode {

struct CodePointRange {
  std::uint32_t first;  // inclusive
  std::uint32_t last;   // inclusive
};

extern const CodePointRange kJsLetterRanges[];  // \p{L}
extern const std::size_t kJsLetterRangeCount;
extern const CodePointRange kJsNumberRanges[];  // \p{N}
extern const std::size_t kJsNumberRangeCount;
extern const CodePointRange kJsSpaceRanges[];   // \s (WhiteSpace and LineTerminator)
extern const std::size_t kJsSpaceRangeCount;
extern const char kJsUnicodeVersion[];          // e.g. "17.0"

}  // namespace rslicer::js_unicode
