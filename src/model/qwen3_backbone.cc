#include "model/qwen3_backbone.h"

#include <algorithm>

#include "core/errors.h"

namespace rslicer {

Qwen3TextEmbedder::Qwen3TextEmbedder(std::shared_ptr<Qwen3TextEncoder> encoder, Qwen3TextEmbedderOptions options)
    : encoder_(std::move(encoder)), options_(options) {
  if (!encoder_) throw InvalidInput("Qwen3TextEmbedder: no encoder given");
}

Qwen3TextEmbedder::Output Qwen3TextEmbedder::embed(const std::vector<SliceTexts>& texts) {
  const std::int64_t B = static_cast<std::int64_t>(texts.size());
  const std::int64_t D = encoder_->dim();
  // Distinct texts that are not cached, in first-seen order.
  std::vector<std::string> missing;
  std::unordered_map<std::string, std::size_t> missing_index;
  for (const SliceTexts& t : texts) {
    for (const std::string& s : t) {
      if (s.empty() || cache_.count(s) || missing_index.count(s)) continue;
      missing_index.emplace(s, missing.size());
      missing.push_back(s);
    }
  }
  std::vector<std::vector<float>> fresh;
  if (!missing.empty()) {
    fresh = encoder_->embed_texts(missing);
    encoded_ += static_cast<std::int64_t>(missing.size());
  }
  Output out;
  out.modality = torch::zeros({B, 3, D}, torch::kFloat32);
  out.mask = torch::zeros({B, 3}, torch::kBool);
  float* mp = out.modality.data_ptr<float>();
  bool* kp = out.mask.data_ptr<bool>();
  for (std::int64_t b = 0; b < B; ++b) {
    for (int m = 0; m < 3; ++m) {
      const std::string& s = texts[static_cast<size_t>(b)][static_cast<size_t>(m)];
      if (s.empty()) continue;
      const std::vector<float>* v = nullptr;
      auto hit = cache_.find(s);
      if (hit != cache_.end()) {
        v = &hit->second;
      } else {
        v = &fresh[missing_index.at(s)];
      }
      if (static_cast<std::int64_t>(v->size()) != D)
        throw ModelError(cat("Qwen3TextEmbedder: embedding of width ", v->size(), ", expected ", D));
      std::copy(v->begin(), v->end(), mp + (b * 3 + m) * D);
      kp[b * 3 + m] = true;
    }
  }
  // Cache the new texts (bounded: when full, the cache is cleared, which
  // keeps results identical and memory bounded).
  if (options_.max_cache > 0) {
    for (size_t i = 0; i < missing.size(); ++i) {
      if (cache_.size() >= options_.max_cache) cache_.clear();
      cache_.emplace(missing[i], std::move(fresh[i]));
    }
  }
  return out;
}

Qwen3TextHeadImpl::Qwen3TextHeadImpl(const Qwen3TextHeadOptions& options) : options_(options) {
  for (int m = 0; m < 3; ++m) {
    proj_[static_cast<size_t>(m)] =
        register_module(cat("proj", m), torch::nn::Linear(options.text_dim, options.embed_dim));
  }
  FusionMlpOptions f;
  f.modalities = 3;
  f.embed_dim = options.embed_dim;
  f.hidden = options.fusion_hidden;
  f.dropout = options.dropout;
  fusion_ = register_module("fusion", FusionMlp(f));
}

Qwen3TextHeadImpl::Output Qwen3TextHeadImpl::forward(const torch::Tensor& text, const torch::Tensor& mask) {
  RSLICER_CHECK(text.dim() == 3 && text.size(1) == 3 && text.size(2) == options_.text_dim, InvalidInput,
                "Qwen3TextHead: text must be [B, 3, ", options_.text_dim, "], got ", text.sizes());
  std::vector<torch::Tensor> rows;
  for (int m = 0; m < 3; ++m) {
    auto e = proj_[static_cast<size_t>(m)]->forward(text.select(1, m));  // [B, E]
    rows.push_back(torch::nn::functional::normalize(e, torch::nn::functional::NormalizeFuncOptions().dim(-1)));
  }
  Output out;
  out.modality = torch::stack(rows, 1);  // [B, 3, E]
  out.state = fusion_->forward(out.modality, mask);
  return out;
}

Qwen3Backbone::Qwen3Backbone(const EncoderConfig& config) : config_(config) {
  RSLICER_CHECK(!config_.qwen3_dir.empty(), ModelError,
                "backbone \"qwen3\" needs encoder.qwen3_dir: a Hugging Face Qwen3-Embedding checkpoint folder "
                "(config.json, tokenizer.json, *.safetensors)");
  std::shared_ptr<Qwen3TextEncoder> text;
  try {
    text = Qwen3TextEncoder::load(config_.qwen3_dir);
  } catch (const Error& e) {
    throw ModelError(cat("backbone \"qwen3\": cannot load ", config_.qwen3_dir, ": ", e.what()));
  }
  embedder_ = std::make_unique<Qwen3TextEmbedder>(std::move(text));
  Qwen3TextHeadOptions h;
  h.text_dim = embedder_->dim();
  h.embed_dim = config_.embed_dim;
  h.fusion_hidden = config_.fusion_hidden;
  h.dropout = config_.dropout;
  head_ = register_module("head", Qwen3TextHead(h));
  for (int m = 0; m < kNumModalities; ++m)
    entity_proj_[static_cast<size_t>(m)] = register_module(
        cat("entity_proj", m), torch::nn::Linear(token_dim(static_cast<Modality>(m)), config_.entity_dim));
  register_entity_head(config_);
}

EncoderOutput Qwen3Backbone::forward(const EncoderBatch& batch) {
  std::vector<SliceTexts> texts;
  texts.reserve(batch.slices.size());
  for (const FeatureSlice* s : batch.slices) texts.push_back(s->texts);
  Qwen3TextEmbedder::Output t;
  {
    torch::NoGradGuard frozen;
    t = embedder_->embed(texts);  // [B, 3, D], mask [B, 3]
  }
  // A modality is present when the slice has it and its text is non-empty.
  torch::Tensor mask = batch.modality_mask.logical_and(t.mask);
  auto h = head_->forward(t.modality, mask);
  EncoderOutput out;
  out.modality = h.modality;
  out.modality_mask = mask;
  out.state = h.state;
  out.encodings = t.modality;  // the frozen text embeddings under the trained projections
  for (int m = 0; m < kNumModalities; ++m)
    out.entity_tokens[static_cast<size_t>(m)] = entity_proj_[static_cast<size_t>(m)]->forward(batch.values[m]);
  score_entities(out);
  return out;
}

}  // namespace rslicer
