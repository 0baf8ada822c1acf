// The one place where the model module meets the tokenizer module
// (src/tokenizer, rslicer::Qwen3Tokenizer): the encoder sees only this small
// class, and the model module still builds when the tokenizer module is absent
// (then constructing it throws ModelError).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rslicer {

class Qwen3TokenizerAdapter {
 public:
  // Reads a Hugging Face tokenizer.json; throws when unreadable or when the
  // tokenizer module was not built.
  explicit Qwen3TokenizerAdapter(const std::string& tokenizer_json);
  ~Qwen3TokenizerAdapter();
  // Ids of `text` with the special tokens the tokenizer.json post-processor adds.
  std::vector<std::int32_t> encode(const std::string& text) const;
  // Id of "<|endoftext|>", or `fallback` when the vocabulary lacks it.
  std::int32_t eos_id(std::int32_t fallback) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rslicer
