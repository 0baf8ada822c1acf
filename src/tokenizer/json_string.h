// The line format of `rslicer tokenize` (and of other text CLIs): one JSON
// string literal per line in, one JSON array of integers per line out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rslicer {

// Parses a line holding exactly one JSON string literal (JSON whitespace
// around it allowed, a trailing "\r" included) into `out`, as raw bytes.
// Semantics follow JavaScript's JSON.parse followed by TextEncoder, the path
// the JS reference tokenizer takes: escapes are decoded, a surrogate pair
// escape becomes one code point, a lone surrogate escape becomes U+FFFD; raw
// bytes are copied unchanged (invalid UTF-8 is left for the tokenizer, which
// replaces it like TextDecoder). Returns false and sets `error` (with the
// byte column) when the line is not a JSON string.
bool parse_json_string_line(std::string_view line, std::string& out, std::string& error);

// Escapes `s` as a JSON string literal (with quotes). Bytes >= 0x80 are
// copied raw, so invalid UTF-8 survives a round trip through
// parse_json_string_line.
std::string json_quote(std::string_view s);

// "[1,2,3]", the same text as JSON.stringify of the array.
std::string ids_to_json(const std::vector<std::int32_t>& ids);
void append_ids_json(std::string& out, const std::vector<std::int32_t>& ids);

}  // namespace rslicer
