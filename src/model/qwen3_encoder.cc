#include "model/qwen3_encoder.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "core/errors.h"
#include "model/qwen3_model.h"
#include "model/qwen3_tokenizer_adapter.h"
#include "model/safetensors.h"

namespace rslicer {

namespace fs = std::filesystem;

std::string qwen3_query_prompt(const std::string& task, const std::string& query) {
  return "Instruct: " + task + "\nQuery:" + query;
}

struct Qwen3TextEncoder::Impl {
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat32;
  Qwen3Model model{nullptr};
  std::string model_dir;                             // for error messages and the default tokenizer path
  std::unique_ptr<Qwen3TokenizerAdapter> tokenizer;  // loaded on first use
};

namespace {

torch::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw InvalidInput(cat("device \"", name, "\" requested but this libtorch build has no usable CUDA device"));
    return name == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(name);
  }
  throw InvalidInput(cat("unknown device \"", name, "\" (expected auto, cpu, cuda or cuda:N)"));
}

torch::ScalarType parse_compute_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return torch::kFloat32;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  throw InvalidInput(cat("unknown compute dtype \"", name, "\" (expected fp32 or bf16)"));
}

}  // namespace

Qwen3TextEncoder::Qwen3TextEncoder(const Qwen3Config& config, const Qwen3EncoderOptions& options)
    : config_(config), options_(options), impl_(std::make_unique<Impl>()) {
  RSLICER_CHECK(options.truncate_dim >= 0 && options.truncate_dim <= config.hidden_size, InvalidInput,
                "truncate dim ", options.truncate_dim, " must be between 1 and hidden_size ", config.hidden_size,
                " (0 = no truncation)");
  RSLICER_CHECK(options.max_length >= 1, InvalidInput, "max_length must be positive, got ", options.max_length);
  RSLICER_CHECK(options.batch_size >= 1, InvalidInput, "batch size must be positive, got ", options.batch_size);
  RSLICER_CHECK(options.num_threads >= 0, InvalidInput, "num_threads must be >= 0, got ", options.num_threads);
  if (options.num_threads > 0) torch::set_num_threads(static_cast<int>(options.num_threads));
  impl_->device = parse_device(options.device);
  impl_->dtype = parse_compute_dtype(options.compute_dtype);
  impl_->model = Qwen3Model(config, torch::TensorOptions().dtype(impl_->dtype).device(impl_->device));
  impl_->model->eval();
}

Qwen3TextEncoder::~Qwen3TextEncoder() = default;

std::unique_ptr<Qwen3TextEncoder> Qwen3TextEncoder::load(const std::string& model_dir,
                                                         const Qwen3EncoderOptions& options) {
  const fs::path dir(model_dir);
  if (!fs::is_directory(dir)) throw IoError(cat(model_dir, ": model folder not found"));
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) throw ModelError(cat(model_dir, ": no config.json in the model folder"));
  const Qwen3Config config = load_qwen3_config(config_path.string());
  SafetensorsReader reader(model_dir);
  auto encoder = from_reader(config, reader, options);
  encoder->impl_->model_dir = model_dir;
  return encoder;
}

std::unique_ptr<Qwen3TextEncoder> Qwen3TextEncoder::from_reader(const Qwen3Config& config, const WeightReader& reader,
                                                                const Qwen3EncoderOptions& options) {
  std::unique_ptr<Qwen3TextEncoder> encoder(new Qwen3TextEncoder(config, options));
  load_qwen3_weights(*encoder->impl_->model, reader);
  return encoder;
}

std::unique_ptr<Qwen3TextEncoder> Qwen3TextEncoder::random(const Qwen3Config& config, std::uint64_t seed,
                                                           const Qwen3EncoderOptions& options) {
  std::unique_ptr<Qwen3TextEncoder> encoder(new Qwen3TextEncoder(config, options));
  init_qwen3_random(*encoder->impl_->model, seed);
  return encoder;
}

std::int64_t Qwen3TextEncoder::dim() const {
  return options_.truncate_dim > 0 ? options_.truncate_dim : config_.hidden_size;
}

std::string Qwen3TextEncoder::device_name() const { return impl_->device.str(); }

Qwen3ModelImpl& Qwen3TextEncoder::model() { return *impl_->model; }

at::Tensor Qwen3TextEncoder::embed_ids(const std::vector<std::vector<std::int32_t>>& ids) {
  const auto n = static_cast<std::int64_t>(ids.size());
  std::vector<std::int64_t> lengths(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    RSLICER_CHECK(!ids[i].empty(), InvalidInput, "sequence ", i, " is empty (nothing to embed)");
    lengths[i] = std::min<std::int64_t>(static_cast<std::int64_t>(ids[i].size()), options_.max_length);
    for (std::int64_t j = 0; j < lengths[i]; ++j) {
      const std::int32_t id = ids[i][j];
      RSLICER_CHECK(id >= 0 && id < config_.vocab_size, InvalidInput, "sequence ", i, ", position ", j,
                    ": token id ", id, " outside the vocabulary [0, ", config_.vocab_size, ")");
    }
  }
  auto out = torch::empty({n, dim()}, torch::kFloat32);  // [n, dim]
  if (n == 0) return out;
  // Longest first so each batch pads little; results do not depend on the grouping.
  std::vector<std::int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return lengths[a] > lengths[b]; });

  c10::InferenceMode inference;
  for (std::int64_t start = 0; start < n; start += options_.batch_size) {
    const std::int64_t b = std::min(options_.batch_size, n - start);
    const std::int64_t s = lengths[order[start]];
    auto input = torch::zeros({b, s}, torch::kInt64);  // [b, s], right padding
    auto mask = torch::zeros({b, s}, torch::kInt64);   // [b, s]
    auto input_a = input.accessor<std::int64_t, 2>();
    auto mask_a = mask.accessor<std::int64_t, 2>();
    std::vector<std::int64_t> rows(b);
    for (std::int64_t r = 0; r < b; ++r) {
      rows[r] = order[start + r];
      const auto& seq = ids[rows[r]];
      for (std::int64_t j = 0; j < lengths[rows[r]]; ++j) {
        input_a[r][j] = seq[j];
        mask_a[r][j] = 1;
      }
    }
    auto pooled = impl_->model->forward_last_token(input.to(impl_->device), mask.to(impl_->device));  // [b, hidden]
    pooled = pooled.to(torch::kFloat32).narrow(1, 0, dim());
    pooled = torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1));
    out.index_copy_(0, torch::tensor(rows, torch::kInt64), pooled.cpu());
  }
  return out;
}

std::vector<std::int32_t> Qwen3TextEncoder::tokenize(const std::string& text) {
  if (!impl_->tokenizer) {
    std::string path = options_.tokenizer_path;
    if (path.empty()) {
      RSLICER_CHECK(!impl_->model_dir.empty(), InvalidInput,
                    "no tokenizer: set Qwen3EncoderOptions::tokenizer_path for an encoder not loaded from a folder");
      path = (fs::path(impl_->model_dir) / "tokenizer.json").string();
    }
    if (!fs::exists(path)) throw ModelError(cat(path, ": tokenizer.json not found (needed to embed text)"));
    impl_->tokenizer = std::make_unique<Qwen3TokenizerAdapter>(path);
  }
  std::vector<std::int32_t> ids = impl_->tokenizer->encode(text);
  const std::int32_t eos = impl_->tokenizer->eos_id(static_cast<std::int32_t>(config_.eos_token_id));
  if (options_.append_eos && (ids.empty() || ids.back() != eos)) ids.push_back(eos);
  if (static_cast<std::int64_t>(ids.size()) > options_.max_length) {
    const bool ends_with_eos = ids.back() == eos;
    ids.resize(static_cast<std::size_t>(options_.max_length));
    if (ends_with_eos) ids.back() = eos;  // keep the pooled token
  }
  return ids;
}

std::vector<std::vector<float>> Qwen3TextEncoder::embed_texts(const std::vector<std::string>& texts) {
  std::vector<std::vector<std::int32_t>> ids;
  ids.reserve(texts.size());
  for (const auto& t : texts) ids.push_back(tokenize(t));
  auto emb = embed_ids(ids).contiguous();  // [n, dim]
  std::vector<std::vector<float>> out(texts.size(), std::vector<float>(static_cast<std::size_t>(dim())));
  const float* p = emb.data_ptr<float>();
  for (std::size_t i = 0; i < out.size(); ++i) std::copy(p + i * dim(), p + (i + 1) * dim(), out[i].begin());
  return out;
}

}  // namespace rslicer
