#include "model/qwen3_tokenizer_adapter.h"

#include "core/errors.h"

#include "tokenizer/bpe_tokenizer.h"

namespace rslicer {

struct Qwen3TokenizerAdapter::Impl {
  explicit Impl(const std::string& path) : tokenizer(Qwen3Tokenizer::from_file(path)) {}
  Qwen3Tokenizer tokenizer;
};

Qwen3TokenizerAdapter::Qwen3TokenizerAdapter(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}

std::vector<std::int32_t> Qwen3TokenizerAdapter::encode(const std::string& text) const {
  return impl_->tokenizer.encode_with_special(text);
}

std::int32_t Qwen3TokenizerAdapter::eos_id(std::int32_t fallback) const {
  const std::int32_t id = impl_->tokenizer.token_to_id("<|endoftext|>");
  return id >= 0 ? id : fallback;
}

Qwen3TokenizerAdapter::~Qwen3TokenizerAdapter() = default;

}  // namespace rslicer
