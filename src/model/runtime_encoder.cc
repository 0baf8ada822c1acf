#include "model/runtime_encoder.h"

#include <dlfcn.h>

#include "model/qwen3_backbone.h"

#include <algorithm>
#include <array>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "core/progress.h"
#include "model/native_encoder.h"

namespace rslicer {

const config::Schema<EncoderConfig>& EncoderConfig::schema() {
  using config::Range;
  static const auto s =
      config::Schema<EncoderConfig>("encoder")
          .text("backbone", &EncoderConfig::backbone,
                "native (feature tokens + small transformer) or qwen3 (frozen text model + projection)",
                {"native", "qwen3"})
          .num("d_model", &EncoderConfig::d_model, "token width of the shared transformer", Range::closed(1, 4096))
          .num("layers", &EncoderConfig::layers, "transformer layers (shared by all modalities)", Range::closed(0, 64))
          .num("heads", &EncoderConfig::heads, "attention heads (must divide d_model)", Range::closed(1, 256))
          .num("ff_dim", &EncoderConfig::ff_dim, "feed-forward width", Range::closed(1, 65536))
          .num("dropout", &EncoderConfig::dropout, "dropout in the transformer and fusion (training only)",
               Range::closed_open(0, 1))
          .num("embed_dim", &EncoderConfig::embed_dim, "unified state embedding size (and per-modality size)",
               Range::closed(1, 4096))
          .num("entity_dim", &EncoderConfig::entity_dim, "per-entity embedding size", Range::closed(1, 4096))
          .num("fusion_hidden", &EncoderConfig::fusion_hidden, "hidden width of the fusion MLP g_phi",
               Range::closed(1, 65536))
          .num("name_buckets", &EncoderConfig::name_buckets,
               "word-piece hash buckets; must equal features.name_buckets", Range::closed(2, 1 << 24))
          .text("qwen3_dir", &EncoderConfig::qwen3_dir, "Hugging Face checkpoint folder for backbone qwen3")
          .flag("entity_head", &EncoderConfig::entity_head,
                "a root-cause score per entity (L_entity); the trainer sets it when entity-level labels exist")
          .rule([](const EncoderConfig& c, const std::string&) {
            RSLICER_CHECK(c.d_model % c.heads == 0, InvalidInput, "encoder.d_model (", c.d_model,
                          ") must be a multiple of encoder.heads (", c.heads, ")");
          });
  return s;
}

EncoderBatch make_batch(const std::vector<const FeatureSlice*>& slices) {
  EncoderBatch b;
  b.slices = slices;
  const std::int64_t B = static_cast<std::int64_t>(slices.size());
  auto mask = torch::zeros({B, kNumModalities}, torch::kBool);
  auto mask_a = mask.accessor<bool, 2>();
  for (int m = 0; m < kNumModalities; ++m) {
    const std::int64_t dim = token_dim(static_cast<Modality>(m));
    std::int64_t T = 1;
    for (const auto* s : slices) T = std::max<std::int64_t>(T, static_cast<std::int64_t>(s->tokens[m].size()));
    auto values = torch::zeros({B, T, dim}, torch::kFloat32);
    auto pieces = torch::zeros({B, T, kMaxPieces}, torch::kInt64);
    auto kinds = torch::zeros({B, T}, torch::kInt64);
    auto valid = torch::zeros({B, T}, torch::kBool);
    float* vp = values.data_ptr<float>();
    std::int64_t* pp = pieces.data_ptr<std::int64_t>();
    std::int64_t* kp = kinds.data_ptr<std::int64_t>();
    bool* okp = valid.data_ptr<bool>();
    for (std::int64_t i = 0; i < B; ++i) {
      const TokenSet& ts = slices[i]->tokens[m];
      const std::int64_t n = static_cast<std::int64_t>(ts.size());
      if (n > 0) {
        if (ts.dim != dim) throw InvalidInput(cat("token set of modality ", m, " has dim ", ts.dim, ", expected ", dim));
        std::copy(ts.values.begin(), ts.values.end(), vp + i * T * dim);
        for (std::int64_t t = 0; t < n * kMaxPieces; ++t) pp[i * T * kMaxPieces + t] = ts.pieces[t];
        for (std::int64_t t = 0; t < n; ++t) {
          kp[i * T + t] = ts.kinds.empty() ? 0 : ts.kinds[t];
          okp[i * T + t] = true;
        }
        mask_a[i][m] = true;
      }
    }
    b.values[m] = values;
    b.pieces[m] = pieces;
    b.kinds[m] = kinds;
    b.valid[m] = valid;
  }
  b.modality_mask = mask;
  return b;
}

void RuntimeEncoder::register_entity_head(const EncoderConfig& c) {
  if (!c.entity_head) return;
  entity_head_ = register_module("entity_head", torch::nn::Sequential(torch::nn::Linear(c.entity_dim, c.entity_dim),
                                                                      torch::nn::GELU(),
                                                                      torch::nn::Linear(c.entity_dim, 1)));
  // Start with "no root cause" likely: a slice has tens to hundreds of entities, and an entity logit near 0 would
  // give each of them as much weight as "none" (Adam moves a bias by about the learning rate per step).
  torch::NoGradGuard g;
  entity_head_[2]->as<torch::nn::Linear>()->bias.fill_(-6.0);
}

void RuntimeEncoder::score_entities(EncoderOutput& out) {
  if (entity_head_.is_empty()) return;
  for (int m = 0; m < kNumModalities; ++m) out.entity_logits[m] = entity_head_->forward(out.entity_tokens[m]).squeeze(-1);
}

torch::Tensor slice_entity_logits(const EncoderOutput& out, std::int64_t row, const FeatureSlice& s,
                                  const std::vector<Id>& order) {
  std::vector<torch::Tensor> parts;
  std::vector<std::int64_t> owner;  // position in `order` of each kept token
  std::map<Id, std::int64_t> pos;
  for (size_t i = 0; i < order.size(); ++i) pos[order[i]] = static_cast<std::int64_t>(i);
  for (int m = 0; m < kNumModalities; ++m) {
    const std::vector<Id>& entities = s.tokens[m].entities;
    if (entities.empty() || !out.entity_logits[m].defined()) continue;
    std::vector<std::int64_t> keep;
    for (size_t t = 0; t < entities.size(); ++t) {
      auto it = pos.find(entities[t]);
      if (it == pos.end()) continue;
      keep.push_back(static_cast<std::int64_t>(t));
      owner.push_back(it->second);
    }
    if (keep.empty()) continue;
    parts.push_back(out.entity_logits[m][row].index_select(0, torch::tensor(keep, torch::kLong)));
  }
  const auto E = static_cast<std::int64_t>(order.size());
  if (parts.empty()) return torch::full({E}, -1e9);
  auto logits = torch::cat(parts).to(torch::kFloat32);                      // [N]
  const auto N = logits.size(0);
  auto off = torch::full({E, N}, -1e9f);                                     // 0 where token k belongs to entity e
  float* o = off.data_ptr<float>();
  for (size_t k = 0; k < owner.size(); ++k) o[owner[k] * N + static_cast<std::int64_t>(k)] = 0.0f;
  return (logits.unsqueeze(0) + off).logsumexp(1);
}

void set_compute_threads(int threads) {
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(threads);
}

std::shared_ptr<RuntimeEncoder> make_encoder(const EncoderConfig& config) {
  config::validate(config);
  if (config.backbone == "native") return std::make_shared<NativeEncoder>(config);
  if (config.backbone == "qwen3") return std::make_shared<Qwen3Backbone>(config);
  throw InvalidInput(cat("unknown encoder.backbone \"", config.backbone, "\" (known: native, qwen3)"));
}

std::vector<SliceEmbedding> embed_slices(RuntimeEncoder& encoder, const std::vector<FeatureSlice>& slices,
                                         std::int64_t batch_size, bool progress) {
  torch::NoGradGuard no_grad;
  bool was_training = encoder.is_training();
  encoder.eval();
  std::vector<SliceEmbedding> out(slices.size());
  Progress bar("embed", static_cast<std::int64_t>(slices.size()), progress, 5.0);
  const auto edim = encoder.config().entity_dim;
  // Batches of slices of similar length: a batch is padded to its longest slice per modality and attention costs
  // the square of that, so slices in their input order (a trace-heavy minute beside a metrics-only one) spent most
  // of the time on padding. Each slice's embedding does not depend on its batch-mates (padding is masked).
  std::vector<size_t> order(slices.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<std::array<size_t, kNumModalities>> len(slices.size());
  for (size_t i = 0; i < slices.size(); ++i)
    for (int m = 0; m < kNumModalities; ++m) len[i][m] = slices[i].tokens[m].size();
  auto cost = [&](size_t i) {  // attention's share: the square of each modality's length
    size_t c = 0;
    for (size_t n : len[i]) c += n * n;
    return c;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t ca = cost(a), cb = cost(b);
    return ca != cb ? ca < cb : len[a] < len[b];
  });
  for (size_t first = 0; first < slices.size(); first += static_cast<size_t>(batch_size)) {
    size_t last = std::min(slices.size(), first + static_cast<size_t>(batch_size));
    std::vector<const FeatureSlice*> ptrs;
    for (size_t k = first; k < last; ++k) ptrs.push_back(&slices[order[k]]);
    EncoderBatch batch = make_batch(ptrs);
    EncoderOutput o = encoder.forward(batch);
    auto state = o.state.to(torch::kFloat32).contiguous();
    const float* sp = state.data_ptr<float>();
    const auto D = state.size(1);
    // the modality encodings: each row L2-normalised, zeros where the slice lacks the modality, the whole L2-normalised
    torch::Tensor enc;
    if (o.encodings.defined()) {
      namespace F = torch::nn::functional;
      enc = F::normalize(o.encodings.to(torch::kFloat32), F::NormalizeFuncOptions().dim(-1).eps(1e-8));
      enc = (enc * o.modality_mask.to(torch::kFloat32).unsqueeze(-1)).flatten(1);
      enc = F::normalize(enc, F::NormalizeFuncOptions().dim(-1).eps(1e-8)).contiguous();
    }
    const std::int64_t P = enc.defined() ? enc.size(1) : 0;
    std::array<torch::Tensor, kNumModalities> ent;
    for (int m = 0; m < kNumModalities; ++m) ent[m] = o.entity_tokens[m].to(torch::kFloat32).contiguous();
    const bool scored = o.entity_logits[0].defined();
    for (size_t k = first; k < last; ++k) {
      const size_t i = order[k];
      const FeatureSlice& s = slices[i];
      const std::int64_t bi = static_cast<std::int64_t>(k - first);
      SliceEmbedding e;
      e.index = s.index;
      e.start = s.start;
      e.end = s.end;
      e.mask = s.mask;
      e.faults = s.faults;
      e.state.assign(sp + bi * D, sp + (bi + 1) * D);
      if (P > 0) e.encodings.assign(enc.data_ptr<float>() + bi * P, enc.data_ptr<float>() + (bi + 1) * P);
      e.entity_dim = static_cast<std::int32_t>(edim);
      std::map<Id, std::pair<std::vector<float>, int>> acc;
      std::map<Id, std::array<std::pair<std::vector<float>, int>, kNumModalities>> per_mod;
      for (int m = 0; m < kNumModalities; ++m) {
        const TokenSet& ts = s.tokens[m];
        if (ts.size() == 0) continue;
        const float* ep = ent[m].data_ptr<float>();
        const auto T = ent[m].size(1);
        for (size_t t = 0; t < ts.size(); ++t) {
          Id id = ts.entities[t];
          if (id == kNoId) continue;
          auto& a = acc[id];
          if (a.first.empty()) a.first.assign(edim, 0.0f);
          const float* row = ep + (bi * T + static_cast<std::int64_t>(t)) * edim;
          for (std::int64_t k = 0; k < edim; ++k) a.first[k] += row[k];
          a.second += 1;
          auto& pm = per_mod[id][m];
          if (pm.first.empty()) pm.first.assign(edim, 0.0f);
          for (std::int64_t k = 0; k < edim; ++k) pm.first[k] += row[k];
          pm.second += 1;
        }
      }
      e.entities.reserve(acc.size());
      e.entity_embeddings.reserve(acc.size() * edim);
      for (auto& [id, a] : acc) {
        e.entities.push_back(id);
        for (float v : a.first) e.entity_embeddings.push_back(v / static_cast<float>(a.second));
        for (const auto& pm : per_mod[id]) {
          e.entity_modality_mask.push_back(pm.second > 0 ? 1 : 0);
          for (std::int64_t k = 0; k < edim; ++k)
            e.entity_modality_embeddings.push_back(pm.second > 0 ? pm.first[k] / static_cast<float>(pm.second) : 0.0f);
        }
      }
      if (scored && !e.entities.empty()) {
        auto sc = slice_entity_logits(o, bi, s, e.entities).contiguous();
        e.entity_scores.assign(sc.data_ptr<float>(), sc.data_ptr<float>() + sc.numel());
      }
      out[i] = std::move(e);
    }
    bar.update(static_cast<std::int64_t>(last));
  }
  bar.finish();
  if (was_training) encoder.train();
  return out;
}

}  // namespace rslicer
