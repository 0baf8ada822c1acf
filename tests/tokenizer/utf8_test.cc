#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "tokenizer/json_string.h"

namespace rslicer {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidationRejectsOverlongsSurrogatesAndOutOfRange) {
  EXPECT_TRUE(is_valid_utf8("plain ascii text, long enough for the 8-byte path"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE4\xBD\xA0 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\x80"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xE2\x82"));       // truncated at the end
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Utf8, SanitizeFollowsWhatwgMaximalSubparts) {
  // Examples from the WHATWG Encoding Standard / Unicode chapter 3 (U+FFFD substitution).
  EXPECT_EQ(sanitize_utf8("a\x80z"), "a" + kFffd + "z");
  EXPECT_EQ(sanitize_utf8("\xC0\x80"), kFffd + kFffd);                    // C0 is never a lead byte
  EXPECT_EQ(sanitize_utf8("\xE0\x80\x80"), kFffd + kFffd + kFffd);        // E0 needs A0..BF next
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);        // no surrogates
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98"), kFffd);                        // one truncated sequence
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98z"), kFffd + "z");
  EXPECT_EQ(sanitize_utf8("\xE2\x28\xA1"), kFffd + "(" + kFffd);
  EXPECT_EQ(sanitize_utf8("\xC2\xC2\xA0"), kFffd + "\xC2\xA0");           // the second C2 starts over
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(sanitize_utf8("ok \xC3\xA9"), "ok \xC3\xA9");                 // valid input unchanged
}

TEST(Utf8, NfcComposesAndReorders) {
  EXPECT_EQ(nfc_normalize("e\xCC\x81"), "\xC3\xA9");                       // e + U+0301 -> é
  EXPECT_EQ(nfc_normalize("\xE2\x84\xAB"), "\xC3\x85");                    // ANGSTROM SIGN -> Å
  EXPECT_EQ(nfc_normalize("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");    // jamo G + A -> 가
  // a + dot below (ccc 220) after acute (ccc 230) is reordered, then composed.
  EXPECT_EQ(nfc_normalize("a\xCC\x81\xCC\xA3"), nfc_normalize("a\xCC\xA3\xCC\x81"));
  EXPECT_EQ(nfc_normalize("plain"), "plain");
  EXPECT_TRUE(is_nfc_quick("caf\xC3\xA9"));
  EXPECT_FALSE(is_nfc_quick("e\xCC\x81"));
  EXPECT_THROW(nfc_normalize("\xED\xA0\x80\xCC\x81"), InvalidInput);
}

TEST(Utf8, JsWhitespaceSet) {
  for (char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', char32_t(0xA0), char32_t(0x3000), char32_t(0x2028),
                     char32_t(0xFEFF), char32_t(0x2000), char32_t(0x200A)})
    EXPECT_TRUE(is_js_whitespace(c)) << std::hex << static_cast<unsigned>(c);
  for (char32_t c : {U'a', char32_t(0x85), char32_t(0x180E), char32_t(0x200B), char32_t(0x1C)})
    EXPECT_FALSE(is_js_whitespace(c)) << std::hex << static_cast<unsigned>(c);
}

TEST(JsonStringLine, ParsesEscapesSurrogatesAndRawBytes) {
  std::string out, err;
  ASSERT_TRUE(parse_json_string_line(R"(  "a\"b\\c\/d\n\t\u00e9\ud83d\ude00"  )", out, err)) << err;
  EXPECT_EQ(out, "a\"b\\c/d\n\t\xC3\xA9\xF0\x9F\x98\x80");
  ASSERT_TRUE(parse_json_string_line("\"x\\ud800y\"\r", out, err)) << err;  // lone surrogate -> U+FFFD
  EXPECT_EQ(out, "x" + kFffd + "y");
  ASSERT_TRUE(parse_json_string_line("\"\\udc00\\ud83d\"", out, err));
  EXPECT_EQ(out, kFffd + kFffd);
  ASSERT_TRUE(parse_json_string_line("\"raw \xFF byte\"", out, err));       // kept for the tokenizer
  EXPECT_EQ(out, "raw \xFF byte");
  ASSERT_TRUE(parse_json_string_line("\"\"", out, err));
  EXPECT_EQ(out, "");
}

TEST(JsonStringLine, RejectsWhatJsonParseRejects) {
  std::string out, err;
  for (const char* bad : {"", "   ", "abc", "123", "\"unterminated", "\"a\"b", "\"tab\there\"", "\"\\x41\"",
                          "\"\\u12G4\"", "'single'", "[\"a\"]"}) {
    EXPECT_FALSE(parse_json_string_line(bad, out, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

TEST(JsonStringLine, QuoteRoundTripsBytes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string out, err;
  ASSERT_TRUE(parse_json_string_line(json_quote(all), out, err)) << err;
  EXPECT_EQ(out, all);
  EXPECT_EQ(ids_to_json({}), "[]");
  EXPECT_EQ(ids_to_json({1, -2, 151643}), "[1,-2,151643]");
}

}  // namespace
}  // namespace rslicer
