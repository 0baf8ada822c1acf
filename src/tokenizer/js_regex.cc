#include "tokenizer/js_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdio>

#include "core/errors.h"
#include "tokenizer/js_unicode_tables.h"
#include "tokenizer/utf8.h"

namespace rslicer {

namespace {

// transformers.js' PROBLEMATIC_REGEX_MAP: patterns JS cannot parse, with the
// replacement it uses. The first is the Qwen2/Qwen3/GPT-4o contraction group.
const std::pair<const char*, const char*> kJsPatternFixes[] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))"},
    {" ?[^(\\s|[.,!?\xE2\x80\xA6\xE3\x80\x82\xEF\xBC\x8C\xE3\x80\x81\xE0\xA5\xA4\xDB\x94\xD8\x8C])]+",
     " ?[^\\s.,!?\xE2\x80\xA6\xE3\x80\x82\xEF\xBC\x8C\xE3\x80\x81\xE0\xA5\xA4\xDB\x94\xD8\x8C]+"},
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

std::string hex_cp(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\x{%X}", cp);
  return buf;
}

std::string ranges_to_class_items(const std::vector<js_unicode::CodePointRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    out += hex_cp(r.first);
    if (r.last != r.first) out += "-" + hex_cp(r.last);
  }
  return out;
}

// Code points in the JS table that PCRE2's `property` (e.g. "\\p{L}") does not
// match, as ranges: what must be added to PCRE2's class to equal JS's.
std::vector<js_unicode::CodePointRange> missing_from_pcre2(const js_unicode::CodePointRange* table,
                                                          std::size_t count, const char* property) {
  std::string text;
  for (std::size_t k = 0; k < count; ++k)
    for (std::uint32_t cp = table[k].first; cp <= table[k].last; ++cp) append_utf8(text, cp);
  const std::string pattern = std::string("[^") + property + "]";
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (!re) throw InvalidInput(cat("cannot compile internal pattern ", pattern));
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
  std::vector<js_unicode::CodePointRange> out;
  PCRE2_SIZE start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                               PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    std::size_t i = ov[0];
    const auto cp = static_cast<std::uint32_t>(next_code_point(text, i));
    if (!out.empty() && out.back().last + 1 == cp) {
      out.back().last = cp;
    } else {
      out.push_back({cp, cp});
    }
    start = ov[1];
  }
  pcre2_match_data_free(md);
  pcre2_code_free(re);
  return out;
}

struct ClassTexts {
  std::vector<js_unicode::CodePointRange> letter_missing;  // JS \p{L} minus PCRE2's \p{L}
  std::vector<js_unicode::CodePointRange> number_missing;  // JS \p{N} minus PCRE2's \p{N}
  std::string letter_extra;  // letter_missing as class items
  std::string number_extra;  // number_missing as class items
  std::string space_items;   // JS \s, for use inside [...]
};

const ClassTexts& class_texts() {
  static const ClassTexts texts = [] {
    ClassTexts t;
    t.letter_missing = missing_from_pcre2(js_unicode::kJsLetterRanges, js_unicode::kJsLetterRangeCount, "\\p{L}");
    t.number_missing = missing_from_pcre2(js_unicode::kJsNumberRanges, js_unicode::kJsNumberRangeCount, "\\p{N}");
    t.letter_extra = ranges_to_class_items(t.letter_missing);
    t.number_extra = ranges_to_class_items(t.number_missing);
    std::vector<js_unicode::CodePointRange> spaces(
        js_unicode::kJsSpaceRanges, js_unicode::kJsSpaceRanges + js_unicode::kJsSpaceRangeCount);
    t.space_items = ranges_to_class_items(spaces);
    return t;
  }();
  return texts;
}

const char kAsciiWord[] = "A-Za-z0-9_";

}  // namespace

std::string js_regex_to_pcre2(std::string_view pattern_in, bool native_letters, bool* remap_safe) {
  bool safe = true;  // only ASCII literals and \\p{L} \\p{N} \\s-style classes
  // 1. The textual fixes transformers.js applies before `new RegExp(..., "gu")`.
  std::string p;
  p.reserve(pattern_in.size());
  for (std::size_t i = 0; i < pattern_in.size(); ++i) {
    if (pattern_in[i] == '\\' && i + 1 < pattern_in.size() &&
        (pattern_in[i + 1] == '#' || pattern_in[i + 1] == '&' || pattern_in[i + 1] == '~')) {
      continue;  // drop the backslash
    }
    p.push_back(pattern_in[i]);
  }
  for (const auto& [from, to] : kJsPatternFixes) replace_all(p, from, to);

  // 2. JS semantics spelled out for PCRE2.
  const ClassTexts& ct = class_texts();
  std::string out;
  out.reserve(p.size() * 2);
  bool in_class = false;
  std::string class_extra;  // extra ranges to append before the class closes
  const std::size_t n = p.size();
  auto fail = [&](const std::string& what) -> void {
    throw InvalidInput(cat("pre-tokenizer regex ", std::string(pattern_in), ": ", what,
                           " cannot be translated to PCRE2"));
  };
  for (std::size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= n) fail("a trailing backslash");
      const char e = p[++i];
      switch (e) {
        case 's':
          out += in_class ? ct.space_items : "[" + ct.space_items + "]";
          break;
        case 'S':
          if (in_class) fail("\\S inside a character class");
          out += "[^" + ct.space_items + "]";
          break;
        case 'd':
          out += in_class ? "0-9" : "[0-9]";
          break;
        case 'D':
          if (in_class) fail("\\D inside a character class");
          out += "[^0-9]";
          break;
        case 'w':
          out += in_class ? std::string(kAsciiWord) : std::string("[") + kAsciiWord + "]";
          break;
        case 'W':
          if (in_class) fail("\\W inside a character class");
          out += std::string("[^") + kAsciiWord + "]";
          break;
        case 'b':
          if (in_class) {
            out += "\\x{8}";
          } else {
            out += "(?:(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])(?=[A-Za-z0-9_]))";
          }
          break;
        case 'B':
          if (in_class) fail("\\B inside a character class");
          out += "(?:(?<=[A-Za-z0-9_])(?=[A-Za-z0-9_])|(?<![A-Za-z0-9_])(?![A-Za-z0-9_]))";
          break;
        case 'v':
          out += "\\x{B}";
          break;
        case '0':
          out += "\\x{0}";
          break;
        case '/':
          out += "/";
          break;
        case 'p':
        case 'P': {
          if (i + 1 >= n || p[i + 1] != '{') fail(cat("\\", e, " without {name}"));
          const std::size_t close = p.find('}', i + 1);
          if (close == std::string::npos) fail(cat("an unterminated \\", e, "{"));
          const std::string name = p.substr(i + 2, close - i - 2);
          i = close;
          const bool letter = name == "L" || name == "Letter";
          const bool number = name == "N" || name == "Number";
          if (!letter && !number) {
            safe = false;
            out += cat("\\", e, "{", name, "}");
            break;
          }
          if (native_letters) {
            out += cat("\\", e, letter ? "{L}" : "{N}");
            break;
          }
          const std::string native = letter ? "\\p{L}" : "\\p{N}";
          const std::string& extra = letter ? ct.letter_extra : ct.number_extra;
          if (e == 'P') {
            if (in_class) fail(cat("\\P{", name, "} inside a character class"));
            out += "[^" + native + extra + "]";
          } else if (in_class) {
            // Native properties first, the (long) extra ranges at the end of
            // the class: PCRE2 tests class items in order.
            out += native;
            class_extra += extra;
          } else {
            out += "[" + native + extra + "]";
          }
          break;
        }
        case 'u': {
          // \uXXXX (a surrogate pair of them is one code point) or \u{X...}.
          auto hex4 = [&](std::size_t at) -> long {
            if (at + 4 > n) return -1;
            long v = 0;
            for (std::size_t k = 0; k < 4; ++k) {
              const char h = p[at + k];
              int d = (h >= '0' && h <= '9')   ? h - '0'
                      : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                      : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                               : -1;
              if (d < 0) return -1;
              v = v * 16 + d;
            }
            return v;
          };
          safe = false;
          if (i + 1 < n && p[i + 1] == '{') {
            const std::size_t close = p.find('}', i + 1);
            if (close == std::string::npos) fail("an unterminated \\u{");
            out += "\\x{" + p.substr(i + 2, close - i - 2) + "}";
            i = close;
            break;
          }
          long v = hex4(i + 1);
          if (v < 0) fail("a malformed \\u escape");
          i += 4;
          if (v >= 0xD800 && v <= 0xDBFF && i + 2 < n && p[i + 1] == '\\' && p[i + 2] == 'u') {
            const long low = hex4(i + 3);
            if (low >= 0xDC00 && low <= 0xDFFF) {
              v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00);
              i += 6;
            }
          }
          if (v >= 0xD800 && v <= 0xDFFF) fail("a lone surrogate escape");
          out += hex_cp(static_cast<std::uint32_t>(v));
          break;
        }
        default:
          // \x.., \c.. and back references may name non-ASCII characters.
          if (e == 'x' || e == 'c' || e == 'k' || (e >= '1' && e <= '9')) safe = false;
          out.push_back('\\');
          out.push_back(e);
      }
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) safe = false;
    if (in_class) {
      if (c == ']') {
        in_class = false;
        out += class_extra;
        class_extra.clear();
        out.push_back(']');
      } else if (c == '[') {
        out += "\\[";  // literal in JS; PCRE2 would read "[:" as a POSIX class
      } else {
        out.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '[':
        if (p.compare(i, 2, "[]") == 0) {
          out += "(?!)";  // JS: the empty class matches nothing
          i += 1;
        } else if (p.compare(i, 3, "[^]") == 0) {
          out += "(?s:.)";  // JS: any character
          i += 2;
        } else {
          in_class = true;
          out.push_back('[');
          if (i + 1 < n && p[i + 1] == '^') {
            out.push_back('^');
            ++i;
          }
        }
        break;
      case '.':
        out += "[^\\n\\r\\x{2028}\\x{2029}]";
        break;
      case '$':
        out += "\\z";
        break;
      default:
        out.push_back(c);
    }
  }
  if (in_class) fail("an unterminated character class");
  if (p.find("(?i") != std::string::npos) safe = false;  // case folding may reach non-ASCII
  if (remap_safe) *remap_safe = safe;
  return out;
}

struct JsRegex::Impl {
  pcre2_code* code = nullptr;
  // Letters/numbers JS knows and PCRE2 does not, each mapped to a letter/number
  // PCRE2 knows with the same UTF-8 length (empty: patterns spell them out).
  struct RemapRange {
    std::uint32_t first;
    std::uint32_t last;
    char32_t replacement;
  };
  std::vector<RemapRange> remap;
  std::uint32_t remap_min = 0x110000;
  bool native = false;  // native \p{L} \p{N} (with `remap`), else explicit ranges
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
  const RemapRange* find_remap(std::uint32_t cp) const {
    auto it = std::upper_bound(remap.begin(), remap.end(), cp,
                               [](std::uint32_t c, const RemapRange& r) { return c < r.first; });
    if (it == remap.begin()) return nullptr;
    --it;
    return cp <= it->last ? &*it : nullptr;
  }
};

namespace {

pcre2_code* compile_or_throw(const std::string& translated, std::string_view original) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw InvalidInput(cat("pre-tokenizer regex ", std::string(original), ": PCRE2 error at offset ", err_off,
                           " of the translated pattern: ", reinterpret_cast<const char*>(msg)));
  }
  return code;
}

std::size_t utf8_length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// Whether PCRE2 puts `cp` in `property` ("\\p{L}").
bool pcre2_has(char32_t cp, const char* property) {
  std::string text;
  append_utf8(text, cp);
  const std::string pattern = std::string("^") + property;
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  if (!re) return false;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
  const bool hit = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, md, nullptr) >= 0;
  pcre2_match_data_free(md);
  pcre2_code_free(re);
  return hit;
}

// The remap table for native \p{L} / \p{N}; empty (with ok=false) when a
// stand-in of the right UTF-8 length is not available.
std::vector<JsRegex::Impl::RemapRange> build_remap(bool& ok) {
  const ClassTexts& ct = class_texts();
  // Stand-ins by UTF-8 length 2, 3, 4: old, stable letters and digits.
  const char32_t letters[] = {0x0101, 0x4E00, 0x20000};
  const char32_t numbers[] = {0x0660, 0x0966, 0x1D7CE};
  std::vector<JsRegex::Impl::RemapRange> out;
  ok = true;
  auto add = [&](const std::vector<js_unicode::CodePointRange>& ranges, const char32_t* stand_ins,
                 const char* property) {
    for (int k = 0; k < 3; ++k)
      if (!pcre2_has(stand_ins[k], property) || is_js_whitespace(stand_ins[k])) ok = false;
    for (const auto& r : ranges) {
      // Split at the UTF-8 length boundaries so one stand-in fits the range.
      std::uint32_t first = r.first;
      while (first <= r.last) {
        const std::size_t len = utf8_length(first);
        const std::uint32_t len_end = len == 1 ? 0x7F : len == 2 ? 0x7FF : len == 3 ? 0xFFFF : 0x10FFFF;
        const std::uint32_t last = std::min(r.last, len_end);
        if (len == 1) ok = false;
        else out.push_back({first, last, stand_ins[len - 2]});
        first = last + 1;
      }
    }
  };
  add(ct.letter_missing, letters, "\\p{L}");
  add(ct.number_missing, numbers, "\\p{N}");
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (!ok) out.clear();
  return out;
}

}  // namespace

JsRegex::JsRegex(std::string_view pattern) : impl_(std::make_unique<Impl>()) {
  // Fast form: native \p{L} / \p{N}, with the letters PCRE2's tables lack
  // replaced in the subject by stand-ins (find_all). Possible only when the
  // pattern names no other non-ASCII character, property or case folding.
  bool safe = false;
  std::string native = js_regex_to_pcre2(pattern, /*native_letters=*/true, &safe);
  bool remap_ok = false;
  std::vector<Impl::RemapRange> remap = safe ? build_remap(remap_ok) : std::vector<Impl::RemapRange>{};
  if (safe && remap_ok) {
    pcre2_pattern_ = std::move(native);
    impl_->native = true;
    impl_->remap = std::move(remap);
    if (!impl_->remap.empty()) impl_->remap_min = impl_->remap.front().first;
  } else {
    pcre2_pattern_ = js_regex_to_pcre2(pattern);
  }
  impl_->code = compile_or_throw(pcre2_pattern_, pattern);
  jit_ = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

JsRegex::~JsRegex() = default;

bool JsRegex::native_letters() const { return impl_->native; }

namespace {

// Per-thread PCRE2 scratch: the match block, and a large JIT stack with its
// match context, made on first need.
struct MatchScratch {
  pcre2_match_data* md = pcre2_match_data_create(32, nullptr);
  pcre2_jit_stack* jit_stack = nullptr;
  pcre2_match_context* big_stack_ctx = nullptr;
  std::string shadow;  // the subject with stand-ins (see JsRegex::Impl::remap)
  ~MatchScratch() {
    pcre2_match_data_free(md);
    if (big_stack_ctx) pcre2_match_context_free(big_stack_ctx);
    if (jit_stack) pcre2_jit_stack_free(jit_stack);
  }
  pcre2_match_context* big_stack() {
    if (!big_stack_ctx) {
      jit_stack = pcre2_jit_stack_create(32 * 1024, 256 * 1024 * 1024, nullptr);
      big_stack_ctx = pcre2_match_context_create(nullptr);
      pcre2_jit_stack_assign(big_stack_ctx, nullptr, jit_stack);
    }
    return big_stack_ctx;
  }
};

}  // namespace

void JsRegex::find_all(std::string_view text, std::vector<MatchSpan>& out) const {
  thread_local MatchScratch scratch;
  pcre2_match_data* md = scratch.md;
  pcre2_match_context* mctx = nullptr;
  if (!impl_->remap.empty()) {
    // Replace letters/numbers newer than PCRE2's tables by same-length
    // stand-ins; offsets stay valid for `text`.
    std::string& shadow = scratch.shadow;
    bool copied = false;
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
      if (static_cast<unsigned char>(text[i]) < 0x80) {
        ++i;
        continue;
      }
      const std::size_t start = i;
      const char32_t cp = next_code_point(text, i);
      if (cp < impl_->remap_min) continue;
      const Impl::RemapRange* r = impl_->find_remap(static_cast<std::uint32_t>(cp));
      if (!r) continue;
      if (!copied) {
        shadow.assign(text.data(), text.size());
        copied = true;
      }
      std::string rep;
      append_utf8(rep, r->replacement);
      shadow.replace(start, rep.size(), rep);
    }
    if (copied) text = shadow;
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE length = text.size();
  PCRE2_SIZE start = 0;
  while (start <= length) {
    int rc = jit_ ? pcre2_jit_match(impl_->code, subject, length, start, 0, md, mctx)
                  : pcre2_match(impl_->code, subject, length, start, PCRE2_NO_UTF_CHECK, md, mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && mctx == nullptr) {
      // Deep backtracking: retry this match with a large JIT stack.
      mctx = scratch.big_stack();
      continue;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof(msg));
      throw InvalidInput(cat("pre-tokenizer regex failed on a ", length,
                             "-byte text: ", reinterpret_cast<const char*>(msg)));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const std::size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.push_back({b, e});
      start = e;
    } else {
      // Empty match: JS advances lastIndex by one code point.
      if (b >= length) break;
      std::size_t next = b;
      next_code_point(text, next);
      start = next;
    }
  }
}

}  // namespace rslicer
