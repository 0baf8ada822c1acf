// UTF-8 encoding of one code point, shared by the log parser (JSON \u
// escapes) and the tokenizer.
#pragma once

#include <string>

namespace rslicer {

// Appends the UTF-8 encoding of `cp` (which must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t cp);

}  // namespace rslicer
