#include "eval/experiment.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/errors.h"
#include "eval/report.h"
#include "dataset/split.h"
#include "ingest/source.h"
#include "tasks/raw_metrics.h"
#include "tasks/trace_evidence.h"

namespace rslicer::eval {
namespace {

using Json = nlohmann::json;

void say(bool on, const std::string& s) {
  if (on) std::fprintf(stderr, "[eval] %s\n", s.c_str());
}

std::vector<FeatureSlice> metrics_only(const std::vector<FeatureSlice>& in) {
  std::vector<FeatureSlice> out = in;
  for (auto& s : out) {
    for (Modality m : {Modality::kTraces, Modality::kLogs}) {
      TokenSet& t = s.tokens[static_cast<int>(m)];
      t.values.clear();
      t.pieces.clear();
      t.entities.clear();
      t.kinds.clear();
      t.keys.clear();
    }
    s.mask.bits &= static_cast<std::uint8_t>(1u << static_cast<int>(Modality::kMetrics));
  }
  return out;
}

}  // namespace

ExperimentResult run_experiment(const ExperimentOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  RSLICER_CHECK(!o.data_path.empty(), InvalidInput, "eval: --data is required");
  RSLICER_CHECK(!o.out_dir.empty(), InvalidInput, "eval: --out is required");
  std::filesystem::create_directories(o.out_dir);

  TrainConfig config;
  config.max_minutes = o.train_minutes;
  if (!o.config_path.empty()) config = load_train_config(o.config_path, config);
  std::unique_ptr<EmbeddingModel> given;
  PrepareOptions prep;
  if (!o.model_dir.empty()) {
    say(o.progress, "loading model " + o.model_dir);
    given = EmbeddingModel::load(o.model_dir);
    config = given->config();
    prep = given->prepare_options({}, o.progress);
  } else {
    prep.slice = config.slice;
    prep.features = config.features;
    prep.progress = o.progress;
    prep.serialize_texts = config.encoder.backbone == "qwen3";
  }
  say(o.progress, "reading and featurising " + o.data_path + " (with the raw tables of the baselines and evidence)");
  MetricTableBuilder metric_table;
  TraceTableBuilder trace_table;
  Dataset data = prepare(o.data_path, o.format, prep, {&metric_table, &trace_table});
  RSLICER_CHECK(!data.slices.empty(), InvalidInput, "eval: no slices in ", o.data_path);
  RSLICER_CHECK(!data.faults.empty(), InvalidInput, "eval: ", o.data_path, " has no fault labels to evaluate against");
  say(o.progress, cat(data.slices.size(), " slices, ", data.faults.size(), " faults (", data.seconds, " s)"));
  const MetricTable& table = metric_table.table();
  const TraceTable& traces = trace_table.table();

  EvalContext ctx;
  ctx.faults = data.faults;
  ctx.raw = &table;
  ctx.traces = &traces;
  ctx.stride_s = config.slice.window_stride_s;
  const Catalog& cat_ = data.catalog;
  for (size_t i = 0; i < cat_.entities.size(); ++i) {
    ctx.entity_names.push_back(cat_.entities.name(static_cast<Id>(i)));
    const auto& info = cat_.entity_info[i];
    ctx.entity_kinds.push_back(entity_kind_name(info.kind));
    ctx.entity_services.push_back(info.service != kNoId && info.service != i ? cat_.entities.name(info.service) : "");
  }

  CaseSplit split = make_split(o.split, data.faults, data.slices.front().start, data.slices.back().end);

  // AD view.
  size_t with_traces = 0;
  for (const auto& s : data.slices) with_traces += s.mask.has(Modality::kTraces) || s.mask.has(Modality::kLogs);
  double coverage = static_cast<double>(with_traces) / data.slices.size();
  bool metrics_view = o.ad_view == "metrics" || (o.ad_view == "auto" && coverage < 0.5);
  RSLICER_CHECK(o.ad_view == "auto" || o.ad_view == "all" || o.ad_view == "metrics", InvalidInput,
                "eval: --ad-view must be auto, all or metrics, got '", o.ad_view, "'");
  std::vector<FeatureSlice> metric_slices;
  if (metrics_view) metric_slices = metrics_only(data.slices);
  say(o.progress, cat("traces/logs cover ", static_cast<int>(coverage * 100), " % of slices: anomaly detection uses ",
                      metrics_view ? "the metrics view" : "all modalities"));

  std::vector<FoldInput> folds;
  const std::vector<TimeRange> windows = slice_windows(data.slices);
  Json fold_models = Json::array();
  std::unique_ptr<EmbeddingModel> untrained = EmbeddingModel::untrained(config, data);
  std::vector<SliceEmbedding> raw_emb, raw_ad;
  if (o.raw_backbone) {
    say(o.progress, "embedding with the untrained encoder (raw backbone)");
    raw_emb = untrained->embed(data.slices, o.progress);
    if (metrics_view) raw_ad = untrained->embed(metric_slices, o.progress);
  }
  for (size_t fi = 0; fi < split.folds.size(); ++fi) {
    const SplitFold& fold = split.folds[fi];
    const EmbeddingModel* model = given.get();
    std::unique_ptr<EmbeddingModel> trained;
    if (!model) {
      TrainingSet set;
      set.data = &data;
      FoldSlices fs = fold_slices(windows, fold, config.split.validation_fraction);
      RSLICER_CHECK(fs.train.size() + fs.validation.size() >= 10, InvalidInput, "eval: fold '", fold.name,
                    "' has only ", fs.train.size() + fs.validation.size(), " training slices");
      set.train = std::move(fs.train);
      set.validation = std::move(fs.validation);
      TrainOptions topt;
      topt.out_dir = (std::filesystem::path(o.out_dir) / (split.folds.size() == 1 ? std::string("model")
                                                                                  : "model-fold" + std::to_string(fi)))
                         .string();
      topt.progress = o.progress;
      say(o.progress, cat("training the encoder on fold '", fold.name, "': ", set.train.size(), " slices (+",
                          set.validation.size(), " validation), budget ", config.max_minutes, " min"));
      TrainResult tr = train_encoder(config, {set}, topt);
      fold_models.push_back({{"fold", fold.name}, {"model_dir", topt.out_dir}, {"epochs", tr.epochs},
                             {"best_epoch", tr.best_epoch}, {"seconds", tr.seconds}, {"model_bytes", tr.model_bytes}});
      trained = EmbeddingModel::load(topt.out_dir);
      model = trained.get();
    } else {
      fold_models.push_back({{"fold", fold.name}, {"model_dir", o.model_dir}, {"given", true}});
    }
    say(o.progress, "embedding every slice");
    FoldInput in;
    in.fold = &fold;
    Representation ours;
    ours.name = "rslicer";
    ours.slices = model->embed(data.slices, o.progress);
    if (metrics_view) {
      ours.ad_view = model->embed(metric_slices, o.progress);
      ours.ad_view_name = "metrics only (traces/logs masked)";
    }
    in.reps.push_back(std::move(ours));
    if (o.raw_backbone) {
      Representation rb;
      rb.name = "raw_backbone";
      rb.slices = raw_emb;
      rb.ad_view = raw_ad;
      if (metrics_view) rb.ad_view_name = "metrics only (traces/logs masked)";
      in.reps.push_back(std::move(rb));
    }
    folds.push_back(std::move(in));
  }

  say(o.progress, "running heads and baselines");
  HarnessResult hr = run_harness(ctx, folds, o.harness);
  Json metrics = score_runs(ctx, hr, o.harness);
  metrics["split"] = {{"kind", split.kind}, {"description", split.description}, {"train_fraction", split.train_fraction}};
  Json folds_json = Json::array();
  for (const auto& f : split.folds) {
    Json fj = {{"name", f.name}};
    Json tr = Json::array(), te = Json::array();
    for (auto& r : f.train_ranges) tr.push_back({format_time(r.first), format_time(r.second)});
    for (auto& r : f.test_ranges) te.push_back({format_time(r.first), format_time(r.second)});
    fj["train_ranges"] = tr;
    fj["test_ranges"] = te;
    Json trc = Json::array(), tec = Json::array();
    for (size_t c : f.train_cases) trc.push_back(format_time(data.faults[c].start) + " " + data.faults[c].fault_type + " " + data.faults[c].root_cause);
    for (size_t c : f.test_cases) tec.push_back(format_time(data.faults[c].start) + " " + data.faults[c].fault_type + " " + data.faults[c].root_cause);
    fj["train_cases"] = trc;
    fj["test_cases"] = tec;
    folds_json.push_back(fj);
  }
  metrics["split"]["folds"] = folds_json;
  metrics["config"] = {{"data", o.data_path},
                       {"format", data.format},
                       {"ad_view", metrics_view ? "metrics" : "all"},
                       {"trace_log_coverage", coverage},
                       {"train", TrainConfig::schema().to_json(config)},
                       {"models", fold_models},
                       {"spot", {{"q", o.harness.spot.q}, {"level", o.harness.spot.level}, {"dynamic", o.harness.spot.dynamic}}},
                       {"ad_neighbors", o.harness.ad.neighbors},
                       {"partition", {{"k", o.harness.partition.k}, {"k_min", o.harness.partition.k_min},
                                      {"k_max", o.harness.partition.k_max}, {"restarts", o.harness.partition.restarts},
                                      {"seed", o.harness.partition.seed}}},
                       {"rcl_reference_s", o.harness.rcl_reference_s},
                       {"ft_reference_s", o.harness.ft_reference_s},
                       {"bootstrap_samples", o.harness.bootstrap_samples},
                       {"seed", o.harness.seed},
                       {"slices", data.slices.size()},
                       {"faults", data.faults.size()}};
  metrics["partition"] = hr.partition;
  ExperimentResult r;
  r.metrics = metrics;
  r.report_html = write_report(o.out_dir, metrics, ctx, hr);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  say(o.progress, cat("report written to ", r.report_html, " (", static_cast<int>(r.seconds), " s)"));
  return r;
}

}  // namespace rslicer::eval
