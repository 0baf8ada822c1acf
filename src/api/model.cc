#include "api/model.h"

#include <filesystem>

#include "core/errors.h"
#include "train/model_files.h"

namespace rslicer {

EmbeddingModel::EmbeddingModel(TrainConfig config, std::shared_ptr<RuntimeEncoder> encoder, FeatureState features,
                               nlohmann::json drain)
    : config_(std::move(config)), encoder_(std::move(encoder)), features_(std::move(features)),
      drain_(std::move(drain)) {
  features_.frozen = true;
  if (encoder_) config_.encoder = encoder_->config();  // what the weights were built with (e.g. the entity head)
}

std::unique_ptr<EmbeddingModel> EmbeddingModel::untrained(const TrainConfig& config, const Dataset& data) {
  torch::manual_seed(config.seed);
  auto enc = make_encoder(config.encoder);
  return std::make_unique<EmbeddingModel>(config, enc, data.features, data.drain_state);
}

PrepareOptions EmbeddingModel::prepare_options(const ReadOptions& read, bool progress) const {
  PrepareOptions o;
  o.read = read;
  o.slice = config_.slice;
  o.features = features_.options;
  o.initial_features = &features_;
  o.initial_drain = &drain_;
  o.prior_profile = profile_.keys() ? &profile_ : nullptr;
  o.progress = progress;
  o.serialize_texts = config_.encoder.backbone == "qwen3";
  return o;
}

std::vector<SliceEmbedding> EmbeddingModel::embed(const std::vector<FeatureSlice>& slices, bool progress) const {
  set_compute_threads(config_.threads);
  return embed_slices(*encoder_, slices, config_.embed_batch, progress);
}

std::vector<SliceEmbedding> EmbeddingModel::embed_view(const std::vector<FeatureSlice>& slices,
                                                       const std::string& view, bool progress) const {
  if (view == "all") return embed(slices, progress);
  std::vector<FeatureSlice> viewed;
  viewed.reserve(slices.size());
  for (const auto& s : slices) viewed.push_back(ad_view_of(s, view));
  return embed(viewed, progress);
}

const FailureHeads& EmbeddingModel::heads() const {
  RSLICER_CHECK(heads_.has_value(), ModelError, "this model has no fitted heads (an encoder-only model folder); "
                "train it again with `rslicer train` to fit them");
  return *heads_;
}

void EmbeddingModel::set_heads(FailureHeads heads, std::string ad_view) {
  RSLICER_CHECK(ad_view == "all" || ad_view == "metrics" || ad_view == "metrics+traces", InvalidInput,
                "AD view must be all, metrics or metrics+traces, got ", ad_view);
  heads_ = std::move(heads);
  ad_view_ = std::move(ad_view);
}

void EmbeddingModel::save(const std::string& dir, const nlohmann::json& train_log) const {
  ModelFolderWriter w(dir);
  w.add_json("config.json", TrainConfig::schema().to_json(config_));
  w.add_json("features.json", features_.to_json());
  w.add_json("drain.json", drain_);
  w.add_json("train_log.json", train_log.is_null() ? nlohmann::json::object() : train_log);
  if (heads_) w.add_json("heads.json", {{"ad_view", ad_view_}, {"heads", heads_->to_json()}});
  if (profile_.keys()) w.add_json("profile.json", profile_.to_json());
  if (calibration_) w.add_json("calibration.json", calibration_->to_json());
  w.add_module("weights.pt", *encoder_);
  w.finish();
}

std::unique_ptr<EmbeddingModel> EmbeddingModel::load(const std::string& dir) {
  ModelFolderReader r(dir);
  TrainConfig config;
  try {
    config = TrainConfig::schema().from_json(r.json("config.json"));
  } catch (const InvalidInput& e) {
    throw ModelError(cat(dir, "/config.json: incompatible configuration: ", e.what()));
  }
  FeatureState features = FeatureState::from_json(r.json("features.json"));
  nlohmann::json drain = r.json("drain.json");
  std::shared_ptr<RuntimeEncoder> enc;
  try {
    enc = make_encoder(config.encoder);
  } catch (const InvalidInput& e) {
    throw ModelError(cat(dir, "/config.json: ", e.what()));
  }
  r.load_module("weights.pt", *enc);
  enc->eval();
  auto m = std::make_unique<EmbeddingModel>(std::move(config), enc, std::move(features), std::move(drain));
  if (r.has("profile.json")) {
    try {
      m->set_profile(EventProfile::from_json(r.json("profile.json")));
    } catch (const ModelError& e) {
      throw ModelError(cat(dir, "/profile.json: ", e.what()));
    }
  }
  if (r.has("calibration.json")) {
    try {
      m->set_calibration(CalibrationArchive::from_json(r.json("calibration.json")));
    } catch (const ModelError& e) {
      throw ModelError(cat(dir, "/calibration.json: ", e.what()));
    }
  }
  if (r.has("heads.json")) {
    const nlohmann::json h = r.json("heads.json");
    try {
      m->set_heads(FailureHeads::from_json(h.at("heads")), h.at("ad_view").get<std::string>());
    } catch (const ModelError& e) {
      throw ModelError(cat(dir, "/heads.json: ", e.what()));
    } catch (const std::exception& e) {
      throw ModelError(cat(dir, "/heads.json: malformed: ", e.what()));
    }
  }
  return m;
}

std::string resolve_ad_view(const std::string& ad_view, double coverage) {
  if (ad_view == "auto") return coverage < 0.5 ? "metrics" : "all";
  RSLICER_CHECK(ad_view == "all" || ad_view == "metrics" || ad_view == "metrics+traces", InvalidInput,
                "ad_view must be auto, all, metrics or metrics+traces, got '",
                ad_view, "'");
  return ad_view;
}

std::int64_t folder_bytes(const std::string& dir) {
  std::int64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) n += static_cast<std::int64_t>(e.file_size());
  return n;
}

}  // namespace rslicer
