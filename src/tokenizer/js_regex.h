// The pre-tokenizer regexes of tokenizer.json, run with PCRE2 but with the
// semantics of the JavaScript reference (transformers.js / @lenml/tokenizers).
//
// JavaScript and PCRE2 agree on most syntax; the differences that matter for
// tokenizer patterns are rewritten by js_regex_to_pcre2():
//   \s \S        JS WhiteSpace+LineTerminator (incl. U+FEFF, excl. U+0085)
//   \p{L} \p{N}  as JS's (node's Unicode tables, js_unicode_tables.cc), see below
//   \d \w \b     ASCII, as in JS;  \v is U+000B only;  . excludes \n \r U+2028 U+2029
//   $            end of input only
// Before that, the pattern gets the same textual fixes transformers.js applies
// (unneeded "\#", "\&", "\~" escapes dropped; "(?i:'s|'t|...)" spelled out).
//
// PCRE2's Unicode tables (10.42: Unicode 14) are older than node's (Unicode
// 17), so \p{L} and \p{N} lack ~14k newer letters and digits. Two forms fix
// that. Fast form, used when the pattern names only ASCII characters besides
// these classes (the Qwen pattern does): native \p{L} / \p{N}, and find_all
// replaces each missing letter (digit) in a copy of the subject by an old
// letter (digit) with the same UTF-8 length, so offsets are unchanged.
// Explicit form, otherwise: the missing ranges are added to every class
// (correct, 1.5-2x slower on this pattern).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rslicer {

// Rewrites a tokenizer.json regex (Rust/Python syntax, as JS would see it)
// into an equivalent PCRE2 pattern. Throws InvalidInput for constructs that
// cannot be translated (e.g. \S inside a character class).
// native_letters: keep PCRE2's own \p{L} / \p{N} (the caller then maps the
// letters PCRE2 does not know onto ones it does, as JsRegex does); otherwise
// they are extended with explicit ranges. *remap_safe (when given) says
// whether the pattern names nothing but ASCII characters and those classes,
// so that such a mapping cannot change what it matches.
std::string js_regex_to_pcre2(std::string_view pattern, bool native_letters = false, bool* remap_safe = nullptr);

struct MatchSpan {
  std::size_t begin;  // byte offset of the first byte
  std::size_t end;    // one past the last byte
};

// A compiled PCRE2 pattern (UTF + UCP, JIT when available). Thread-safe:
// find_all may be called from several threads at once.
class JsRegex {
 public:
  // `pattern` is in tokenizer.json syntax; it goes through js_regex_to_pcre2.
  // Throws InvalidInput naming the pattern and the PCRE2 error.
  explicit JsRegex(std::string_view pattern);
  ~JsRegex();
  struct Impl;

  JsRegex(const JsRegex&) = delete;
  JsRegex& operator=(const JsRegex&) = delete;

  // All non-empty matches in valid UTF-8 `text`, left to right, as JS
  // String.prototype.matchAll finds them (after an empty match the search
  // moves on by one code point). Appends to `out`.
  void find_all(std::string_view text, std::vector<MatchSpan>& out) const;

  bool jit() const { return jit_; }
  const std::string& pcre2_pattern() const { return pcre2_pattern_; }
  // Whether the fast form is used (native \p{L} \p{N} plus stand-ins).
  bool native_letters() const;

 private:
  std::unique_ptr<Impl> impl_;
  bool jit_ = false;
  std::string pcre2_pattern_;
};

}  // namespace rslicer
