#include "tokenizer/js_regex.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "tokenizer/js_unicode_tables.h"
#include "tokenizer/utf8.h"

namespace rslicer {
namespace {

const char kQwenPattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

std::vector<std::string> pieces(const JsRegex& re, const std::string& text) {
  std::vector<MatchSpan> spans;
  re.find_all(text, spans);
  std::vector<std::string> out;
  for (const auto& s : spans) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

TEST(JsRegex, TranslatesJsSemantics) {
  const std::string p = js_regex_to_pcre2(kQwenPattern);
  EXPECT_EQ(p.find("(?i:"), std::string::npos) << "the case-insensitive group must be spelled out as JS does";
  EXPECT_NE(p.find("[sS]"), std::string::npos);
  EXPECT_EQ(p.find("\\s"), std::string::npos) << "\\s must become the explicit JS set";
  EXPECT_NE(p.find("\\x{FEFF}"), std::string::npos);
  EXPECT_EQ(js_regex_to_pcre2("a\\#b\\&c\\~"), "a#b&c~");
  EXPECT_EQ(js_regex_to_pcre2("\\d+$"), "[0-9]+\\z");
  EXPECT_THROW(js_regex_to_pcre2("[\\S]"), InvalidInput);
  EXPECT_THROW(js_regex_to_pcre2("[abc"), InvalidInput);
}

TEST(JsRegex, QwenPreTokenizerPieces) {
  const JsRegex re(kQwenPattern);
  EXPECT_EQ(pieces(re, "Hello, world!"), (std::vector<std::string>{"Hello", ",", " world", "!"}));
  EXPECT_EQ(pieces(re, "it's 123"), (std::vector<std::string>{"it", "'s", " ", "1", "2", "3"}));
  EXPECT_EQ(pieces(re, "IT'S"), (std::vector<std::string>{"IT", "'S"}));
  // U+017F (long s) is not [sS]: JS's spelled-out group does not match it.
  EXPECT_EQ(pieces(re, "a'\xC5\xBF"), (std::vector<std::string>{"a", "'\xC5\xBF"}));
  EXPECT_EQ(pieces(re, "a  \n\n b"), (std::vector<std::string>{"a", "  \n\n", " b"}));
  EXPECT_EQ(pieces(re, "x   y"), (std::vector<std::string>{"x", "  ", " y"}));
  // U+FEFF is JS whitespace; U+0085 is not (PCRE2 alone would disagree on both).
  EXPECT_EQ(pieces(re, "a\xEF\xBB\xBF"), (std::vector<std::string>{"a", "\xEF\xBB\xBF"}));
  EXPECT_EQ(pieces(re, "\xC2\x85" "a"), (std::vector<std::string>{"\xC2\x85" "a"}));
}

TEST(JsRegex, KnowsLettersNewerThanPcre2) {
  const JsRegex re(kQwenPattern);
  // U+31350 (CJK Extension H, Unicode 15) is a letter for JS.
  EXPECT_EQ(pieces(re, " \xF0\xB1\x8D\x90\xF0\xB1\x8D\x91"), (std::vector<std::string>{" \xF0\xB1\x8D\x90\xF0\xB1\x8D\x91"}));
}

// Every code point: the translated classes equal JS's (node's tables), in the
// fast form (native classes + stand-ins) and in the explicit-ranges form.
TEST(JsRegex, ClassesEqualJavaScriptsForEveryCodePoint) {
  std::string all;
  std::vector<std::uint32_t> cp_at;  // code point starting at each byte offset
  for (std::uint32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    cp_at.resize(all.size() + 1, 0);
    cp_at[all.size()] = cp;
    append_utf8(all, cp);
  }
  cp_at.resize(all.size() + 1, 0);
  auto matched = [&](const JsRegex& re) {
    std::vector<MatchSpan> spans;
    re.find_all(all, spans);
    std::vector<std::uint32_t> cps;
    for (const auto& s : spans) {
      for (std::size_t i = s.begin; i < s.end;) {
        cps.push_back(cp_at[i]);
        next_code_point(all, i);
      }
    }
    return cps;
  };
  auto expected = [](const js_unicode::CodePointRange* table, std::size_t count) {
    std::vector<std::uint32_t> cps;
    for (std::size_t k = 0; k < count; ++k)
      for (std::uint32_t cp = table[k].first; cp <= table[k].last; ++cp) cps.push_back(cp);
    return cps;
  };
  const auto letters = expected(js_unicode::kJsLetterRanges, js_unicode::kJsLetterRangeCount);
  const auto numbers = expected(js_unicode::kJsNumberRanges, js_unicode::kJsNumberRangeCount);
  const auto spaces = expected(js_unicode::kJsSpaceRanges, js_unicode::kJsSpaceRangeCount);

  const JsRegex fast_l("\\p{L}+"), fast_n("\\p{N}+"), fast_s("\\s+");
  EXPECT_TRUE(fast_l.native_letters());
  EXPECT_EQ(matched(fast_l), letters);
  EXPECT_EQ(matched(fast_n), numbers);
  EXPECT_EQ(matched(fast_s), spaces);
  // \\x{10FFFF} (a noncharacter) forces the explicit form.
  const JsRegex slow_l("\\p{L}+|\\x{10FFFF}"), slow_n("[\\p{N}]+|\\x{10FFFF}");
  EXPECT_FALSE(slow_l.native_letters());
  auto with_max = [](std::vector<std::uint32_t> v) {
    v.push_back(0x10FFFF);
    return v;
  };
  EXPECT_EQ(matched(slow_l), with_max(letters));
  EXPECT_EQ(matched(slow_n), with_max(numbers));
}

TEST(JsRegex, LongRunsDoNotOverflow) {
  const JsRegex re(kQwenPattern);
  std::vector<MatchSpan> spans;
  const std::string spaces(1 << 20, ' ');
  re.find_all(spaces + "x", spans);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].end, spaces.size() - 1);
  spans.clear();
  re.find_all(std::string(1 << 20, 'a'), spans);
  EXPECT_EQ(spans.size(), 1u);
}

TEST(JsRegex, EmptyMatchesAdvanceByOneCodePoint) {
  const JsRegex re("x*");
  EXPECT_EQ(pieces(re, "\xC3\xA9xx\xC3\xA9x"), (std::vector<std::string>{"xx", "x"}));
}

TEST(JsRegex, BadPatternNamesIt) {
  try {
    JsRegex re("(unclosed");
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rslicer
