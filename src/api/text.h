// Text tools of the Qwen3 route behind `rslicer tokenize` and `rslicer
// embed-text`: one JSON string per line on stdin, one JSON array per line on
// stdout (docs/tokenizer.md, docs/qwen3.md).
#pragma once

#include <cstdint>
#include <string>

#include "model/qwen3_encoder.h"

namespace rslicer {

struct TokenizeOptions {
  std::string tokenizer;  // tokenizer.json; empty: default_tokenizer_path()
  bool special = false;   // apply the post-processor (add_special_tokens)
  bool skip_bad = false;  // skip lines that are not a JSON string (counted on stderr) instead of failing
};

// Returns the process exit code; InvalidInput for a bad line unless skip_bad.
int run_tokenize(const TokenizeOptions& options);

struct EmbedTextOptions {
  std::string model;               // Hugging Face Qwen3 / Qwen3-Embedding folder
  std::string instruction;         // non-empty: texts are queries "Instruct: {instruction}\nQuery:{text}"
  std::string tokenizer;           // tokenizer.json; empty = <model>/tokenizer.json
  Qwen3EncoderOptions encoder;     // device, dtype, dim, batch, max length
  std::int64_t lines_per_call = 0; // lines embedded per encoder call (0 = 16 x batch)
};

int run_embed_text(EmbedTextOptions options);

}  // namespace rslicer
