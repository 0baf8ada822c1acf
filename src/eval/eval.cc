#include "eval/eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <numeric>
#include <optional>

#include "api/model.h"
#include "api/pipeline.h"
#include "core/errors.h"
#include "core/progress.h"
#include "dataset/dataset.h"
#include "eval/report.h"

namespace rslicer::eval {

namespace {

using Json = nlohmann::json;

void say(bool on, const std::string& s) {
  if (on && Progress::global_enabled()) std::fprintf(stderr, "[eval] %s\n", s.c_str());
}

// Pools one fold's output into the method's result.
void pool(MethodResult& r, MethodOutput&& o) {
  auto append = [](auto& into, auto&& from) { into.insert(into.end(), from.begin(), from.end()); };
  if (o.ad) {
    if (!r.ad) r.ad.emplace();
    append(r.ad->points, o.ad->points);
    append(r.ad->scores, o.ad->scores);
    append(r.ad->thresholds, o.ad->thresholds);
    append(r.ad->states, o.ad->states);
    append(r.ad->point_faults, o.ad->point_faults);
    append(r.ad->part_scores, o.ad->part_scores);
  }
  if (o.ft) {
    if (!r.ft) r.ft.emplace();
    append(r.ft->cases, o.ft->cases);
    append(r.ft->truth, o.ft->truth);
    append(r.ft->pred, o.ft->pred);
  }
  if (o.rcl) {
    if (!r.rcl) r.rcl.emplace();
    append(r.rcl->cases, o.rcl->cases);
    append(r.rcl->rankings, o.rcl->rankings);
    append(r.rcl->rank_exact, o.rcl->rank_exact);
    append(r.rcl->rank_service, o.rcl->rank_service);
  }
  if (!o.info.is_null()) r.fold_info.push_back(o.info);
}

// AD points of all folds in time order (stable).
void sort_timeline(AdRun& ad) {
  std::vector<size_t> order(ad.points.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ad.points[a].time < ad.points[b].time; });
  AdRun s;
  for (size_t k : order) {
    s.points.push_back(ad.points[k]);
    s.scores.push_back(ad.scores[k]);
    s.thresholds.push_back(ad.thresholds[k]);
    s.states.push_back(ad.states[k]);
    s.point_faults.push_back(ad.point_faults[k]);
    if (ad.part_scores.size() == ad.points.size()) s.part_scores.push_back(ad.part_scores[k]);
  }
  ad = std::move(s);
}

// PCA of a representation over a fold's training and test slices: every faulty slice plus an even sample of normals.
std::vector<ProjectionPoint> project(const Representation& rep, const FoldContext& c,
                                     const std::vector<FaultEvent>& faults) {
  std::vector<size_t> pick, normal;
  std::vector<bool> is_test(rep.slices.size(), false);
  std::vector<bool> used(rep.slices.size(), false);
  for (size_t i : c.train) used[i] = true;
  for (size_t i : c.test) used[i] = is_test[i] = true;
  for (size_t i = 0; i < rep.slices.size(); ++i) {
    if (!used[i]) continue;
    if (!rep.slices[i].faults.empty()) pick.push_back(i);
    else normal.push_back(i);
  }
  size_t step = std::max<size_t>(1, normal.size() / 800);
  for (size_t k = 0; k < normal.size(); k += step) pick.push_back(normal[k]);
  std::sort(pick.begin(), pick.end());
  std::vector<std::vector<float>> rows;
  for (size_t i : pick) rows.push_back(rep.slices[i].state);
  auto xy = pca_2d(rows);
  std::vector<ProjectionPoint> out;
  for (size_t k = 0; k < pick.size(); ++k) {
    const auto& e = rep.slices[pick[k]];
    out.push_back({xy[k].first, xy[k].second, e.faults.empty() ? "normal" : faults[e.faults[0]].fault_type,
                   is_test[pick[k]]});
  }
  return out;
}

}  // namespace

const MethodScores* EvalResult::find(const std::string& name) const {
  for (const auto& s : scores)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::pair<float, float>> pca_2d(const std::vector<std::vector<float>>& rows) {
  std::vector<std::pair<float, float>> out(rows.size(), {0.f, 0.f});
  if (rows.empty()) return out;
  size_t d = rows[0].size();
  std::vector<double> mean(d, 0);
  for (auto& r : rows)
    for (size_t j = 0; j < d; ++j) mean[j] += r[j];
  for (double& m : mean) m /= rows.size();
  std::vector<std::vector<double>> comps;
  for (int c = 0; c < 2; ++c) {
    std::vector<double> v(d);
    for (size_t j = 0; j < d; ++j) v[j] = 1.0 + 0.01 * ((j * 7 + c * 3) % 11);  // deterministic start
    for (int it = 0; it < 100; ++it) {
      std::vector<double> w(d, 0);
      for (auto& r : rows) {
        double p = 0;
        for (size_t j = 0; j < d; ++j) p += (r[j] - mean[j]) * v[j];
        for (size_t j = 0; j < d; ++j) w[j] += p * (r[j] - mean[j]);
      }
      for (auto& u : comps) {
        double p = 0;
        for (size_t j = 0; j < d; ++j) p += w[j] * u[j];
        for (size_t j = 0; j < d; ++j) w[j] -= p * u[j];
      }
      double n = 0;
      for (double x : w) n += x * x;
      n = std::sqrt(n);
      if (n < 1e-12) break;
      for (size_t j = 0; j < d; ++j) v[j] = w[j] / n;
    }
    comps.push_back(v);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    double a = 0, b = 0;
    for (size_t j = 0; j < d; ++j) {
      a += (rows[i][j] - mean[j]) * comps[0][j];
      b += (rows[i][j] - mean[j]) * comps[1][j];
    }
    out[i] = {static_cast<float>(a), static_cast<float>(b)};
  }
  return out;
}

Json metrics_json(const EvalResult& r) {
  Json out;
  Json all = Json::object();
  for (const auto& s : r.scores) all[s.name] = to_json(s);
  const Json ours = all.contains("rslicer") ? all["rslicer"] : Json::object();
  for (const char* k : {"ad", "ft", "rcl", "ci95", "fold_info"})
    if (ours.contains(k)) out[k] = ours[k];
  out["cases"] = {{"train", r.train_cases.size()}, {"test", r.test_cases.size()}};
  out["baselines"] = Json::object();
  out["ablation"] = Json::object();
  for (auto& [name, j] : all.items()) {
    if (name == "rslicer") continue;
    if (j["family"] == "ablation") out["ablation"][name] = j;
    else out["baselines"][name] = j;
  }
  out["split"] = {{"kind", r.split.kind}, {"description", r.split.description},
                  {"train_fraction", r.split.train_fraction}};
  Json folds_json = Json::array();
  for (const auto& f : r.split.folds) {
    Json fj = {{"name", f.name}};
    Json tr = Json::array(), te = Json::array();
    for (auto& x : f.train_ranges) tr.push_back({format_time(x.first), format_time(x.second)});
    for (auto& x : f.test_ranges) te.push_back({format_time(x.first), format_time(x.second)});
    fj["train_ranges"] = tr;
    fj["test_ranges"] = te;
    Json trc = Json::array(), tec = Json::array();
    auto describe = [&](size_t c) {
      return format_time(r.faults[c].start) + " " + r.faults[c].fault_type + " " + r.faults[c].root_cause;
    };
    for (size_t c : f.train_cases) trc.push_back(describe(c));
    for (size_t c : f.test_cases) tec.push_back(describe(c));
    fj["train_cases"] = trc;
    fj["test_cases"] = tec;
    folds_json.push_back(fj);
  }
  out["split"]["folds"] = folds_json;
  out["config"] = r.config;
  out["partition"] = r.partition;
  return out;
}

void evaluate(const EvalData& ed, const std::vector<Method>& ms,
              const std::function<Representation(size_t fold)>& trained, const Representation* untrained,
              const HeadOptions& heads, std::uint64_t seed, const EvalOptions& o, EvalResult& res, bool progress) {
  const bool need_encoder = std::any_of(ms.begin(), ms.end(), [](const Method& m) { return m.needs_encoder; });
  for (const auto& m : ms) res.runs.push_back({m.name, m.family, m.note, {}, {}, {}, Json::array()});
  for (size_t fi = 0; fi < res.split.folds.size(); ++fi) {
    const SplitFold& fold = res.split.folds[fi];
    res.train_cases.insert(res.train_cases.end(), fold.train_cases.begin(), fold.train_cases.end());
    res.test_cases.insert(res.test_cases.end(), fold.test_cases.begin(), fold.test_cases.end());
    const Representation ours = need_encoder ? trained(fi) : Representation{};
    FoldContext c;
    c.data = &ed;
    c.fold = &fold;
    c.trained = need_encoder ? &ours : nullptr;
    c.untrained = untrained;
    c.heads = heads;
    c.seed = seed;
    c.options = o;
    for (size_t i = 0; i < ed.windows.size(); ++i) {
      // disjoint in every split but zero-label, where the whole timeline is both sides
      if (in_ranges(fold.train_ranges, ed.windows[i].first, ed.windows[i].second)) c.train.push_back(i);
      if (in_ranges(fold.test_ranges, ed.windows[i].first, ed.windows[i].second)) c.test.push_back(i);
      for (std::uint32_t f : ed.slice_faults[i]) c.case_slices[f].push_back(i);
    }
    RSLICER_CHECK(!c.train.empty() && !c.test.empty(), InvalidInput, "fold '", fold.name, "': ", c.train.size(),
                  " training and ", c.test.size(), " test slices; both sides need slices");
    say(progress, "running heads and baselines on fold '" + fold.name + "'");
    for (size_t k = 0; k < ms.size(); ++k) {
      MethodOutput out = ms[k].run(c);
      if (fi == 0 && ms[k].name == "rslicer" && out.partition) res.partition = *out.partition;
      pool(res.runs[k], std::move(out));
    }
    if (fi == 0) {
      if (need_encoder) res.projection[ours.name] = project(ours, c, ed.faults);
      if (untrained) res.projection[untrained->name] = project(*untrained, c, ed.faults);
    }
  }
  // distinct training cases (leave-one-case-out trains on every case but one in each fold)
  std::sort(res.train_cases.begin(), res.train_cases.end());
  res.train_cases.erase(std::unique(res.train_cases.begin(), res.train_cases.end()), res.train_cases.end());
  for (auto& r : res.runs)
    if (r.ad) sort_timeline(*r.ad);
  for (const auto& r : res.runs) res.scores.push_back(score(r, ed, res.test_cases, o, seed));
}

// The config of a run on a given model: what the model fixes (encoder, features, slicing) from the model, what
// eval fits itself (the heads, the AD view, the seed) from the request. A request that changes a model-fixed field
// from its default to another value than the model's is refused by name: it could not take effect.
static TrainConfig model_config(const TrainConfig& model, const TrainConfig& request, const std::string& model_dir) {
  const Json defaults = TrainConfig::schema().to_json(TrainConfig{});
  const Json asked = TrainConfig::schema().to_json(request);
  const Json fixed = TrainConfig::schema().to_json(model);
  for (const char* section : {"encoder", "features", "slice"}) {
    const Json d = defaults.at(section).flatten(), a = asked.at(section).flatten(), m = fixed.at(section).flatten();
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string key = it.key();  // "/events/profile"
      if (d.contains(key) && d.at(key) == it.value()) continue;
      if (m.contains(key) && m.at(key) == it.value()) continue;
      std::string dotted = section;
      for (char c : key) dotted += c == '/' ? '.' : c;
      throw InvalidInput(cat("eval --model ", model_dir, ": '", dotted, "' is fixed by the model (",
                             m.contains(key) ? m.at(key).dump() : std::string("unset"), "), not ", it.value().dump(),
                             "; drop the setting or train a model with it"));
    }
  }
  TrainConfig c = model;
  c.heads = request.heads;
  c.ad_view = request.ad_view;
  c.seed = request.seed;
  TrainConfig::schema().validate(c);
  return c;
}

EvalResult run_eval(const EvalRequest& o) {
  auto t0 = std::chrono::steady_clock::now();
  RSLICER_CHECK(!o.data_path.empty(), InvalidInput, "eval: --data is required");
  RSLICER_CHECK(!o.out_dir.empty(), InvalidInput, "eval: --out is required");
  EvalOptions::schema().validate(o.options);
  std::filesystem::create_directories(o.out_dir);

  TrainConfig config = o.config;
  const bool zero_label = o.split == "zero-label";
  // leave-one-case-out: one encoder for all folds, trained without labels on the whole timeline
  const bool shared_encoder = zero_label || o.split == "leave-one-case-out";
  if (shared_encoder) config.weak_labels = false;  // no label reaches the encoder
  const std::vector<Method> ms = select_methods(o.methods, o.raw_backbone, zero_label);
  const bool with_untrained = std::any_of(ms.begin(), ms.end(), [](const Method& m) { return m.name == "raw_backbone"; });
  std::unique_ptr<EmbeddingModel> given;
  PrepareOptions prep;
  if (!o.model_dir.empty()) {
    say(o.progress, "loading model " + o.model_dir);
    given = EmbeddingModel::load(o.model_dir);
    config = model_config(given->config(), o.config, o.model_dir);
    prep = given->prepare_options(o.read, o.progress);
  } else {
    TrainConfig::schema().validate(config);
    prep.read = o.read;
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

  EvalResult res;
  res.faults = data.faults;
  res.stride_s = config.slice.window_stride_s;
  EvalData ed;
  ed.faults = data.faults;
  ed.entities = entity_directory(data.catalog);
  ed.metrics = &metric_table.table();
  ed.traces = &trace_table.table();
  ed.stride_s = config.slice.window_stride_s;
  ed.windows = slice_windows(data.slices);
  for (const auto& s : data.slices) ed.slice_faults.push_back(s.faults);
  ed.features = &data.slices;
  ed.catalog = &data.catalog;
  ed.deviations = &data.deviations;
  ed.event_names = &data.event_names;
  ed.kpi_slots = &data.features.kpi_slots;
  ed.kpi_z_clip = data.features.options.z_clip;
  {
    RawScoreOptions ro = o.options.raw;
    ro.robust = true;
    for (const auto& w : ed.windows) ed.raw_scores.push_back(raw_window_score(*ed.metrics, w.first, w.second, ro));
  }

  res.split = make_split(o.split, data.faults, data.slices.front().start, data.slices.back().end);
  const double coverage = trace_log_coverage(data.slices);
  res.ad_view = resolve_ad_view(config.ad_view, coverage);
  const bool restricted_view = res.ad_view != "all";  // AD sees fewer modalities
  ed.ad_view = res.ad_view;
  std::vector<FeatureSlice> ad_slices;
  if (restricted_view)
    for (const auto& s : data.slices) ad_slices.push_back(ad_view_of(s, res.ad_view));
  say(o.progress, cat("traces/logs cover ", static_cast<int>(coverage * 100), " % of slices: anomaly detection uses ",
                      restricted_view ? "the " + res.ad_view + " view" : std::string("all modalities")));

  Representation untrained_rep;
  if (with_untrained) {
    say(o.progress, "embedding with the untrained encoder (raw backbone)");
    auto untrained = EmbeddingModel::untrained(config, data);
    untrained_rep.name = "raw_backbone";
    untrained_rep.slices = untrained->embed(data.slices, o.progress);
    if (restricted_view) untrained_rep.ad_view = untrained->embed(ad_slices, o.progress);
  }

  // Controlled injection mixed into the encoder's training (config sources of type "simulator"; dataset sources
  // stand for --data, which eval always reads). The simulator's labels teach L_entity; the evaluated data's labels
  // never do (they reach the encoder only through L_anom with weak_labels, never with a shared encoder).
  std::deque<Dataset> simulated;           // stable addresses for the training sets
  std::vector<TrainingSet> simulated_sets;  // their train / validation parts, the same for every fold
  double data_ratio = 1.0;
  bool simulated_ready = false;
  auto simulate_sources = [&] {  // once, when the first encoder is trained (not for rule-only method lists)
    if (simulated_ready) return;
    simulated_ready = true;
    for (const auto& src : config.sources) {
      if (src.type != "simulator") {  // a dataset source stands for --data (its ratio applies; its path does not)
        data_ratio = src.ratio;
        continue;
      }
      PrepareOptions sp = prep;
      sp.initial_features = &data.features;
      sp.initial_drain = &data.drain_state;
      say(o.progress, "simulating a training source (controlled injection)");
      const Dataset& sim = simulated.emplace_back(prepare_simulated(src.simulator, sp, {}));
      const Split split = time_split(slice_windows(sim.slices), config.split, sim.faults);
      TrainingSet ts;
      ts.data = &sim;
      ts.train = split.train;
      ts.validation = split.validation;
      ts.ratio = src.ratio;
      ts.entity_labels = true;
      simulated_sets.push_back(std::move(ts));
    }
  };

  Json fold_models = Json::array();
  std::unique_ptr<EmbeddingModel> trained;
  std::optional<Representation> shared_rep;
  SplitFold whole;
  whole.name = "whole timeline (no labels)";
  whole.train_ranges.push_back({data.slices.front().start, data.slices.back().end + 1});
  auto trained_rep = [&](size_t fi) {
    if (shared_rep) return *shared_rep;
    const SplitFold& fold = shared_encoder ? whole : res.split.folds[fi];
    const EmbeddingModel* model = given.get();
    if (!model) {
      FoldSlices fs = fold_slices(ed.windows, fold, config.split.validation_fraction);
      RSLICER_CHECK(fs.train.size() + fs.validation.size() >= 10, InvalidInput, "eval: fold '", fold.name,
                    "' has only ", fs.train.size() + fs.validation.size(), " training slices");
      TrainingSet set;
      set.data = &data;
      set.train = std::move(fs.train);
      set.validation = std::move(fs.validation);
      TrainOptions topt;
      topt.out_dir = (std::filesystem::path(o.out_dir) /
                      (res.split.folds.size() == 1 || shared_encoder ? std::string("model")
                                                                     : "model-fold" + std::to_string(fi)))
                         .string();
      topt.progress = o.progress;
      say(o.progress, cat("training the encoder on fold '", fold.name, "': ", set.train.size(), " slices (+",
                          set.validation.size(), " validation), budget ", config.max_minutes, " min"));
      simulate_sources();
      set.ratio = data_ratio;
      std::vector<TrainingSet> sets = {set};
      sets.insert(sets.end(), simulated_sets.begin(), simulated_sets.end());
      TrainResult tr = train_encoder(config, sets, topt);
      trained = std::make_unique<EmbeddingModel>(config, tr.encoder, data.features, data.drain_state);
      trained->save(topt.out_dir, tr.log);
      fold_models.push_back({{"fold", fold.name}, {"model_dir", topt.out_dir}, {"epochs", tr.epochs},
                             {"best_epoch", tr.best_epoch}, {"seconds", tr.seconds},
                             {"model_bytes", folder_bytes(topt.out_dir)}});
      model = trained.get();
    } else {
      fold_models.push_back({{"fold", fold.name}, {"model_dir", o.model_dir}, {"given", true}});
    }
    say(o.progress, "embedding every slice");
    Representation ours;
    ours.name = "rslicer";
    ours.slices = model->embed(data.slices, o.progress);
    if (restricted_view) ours.ad_view = model->embed(ad_slices, o.progress);
    if (shared_encoder) shared_rep = ours;
    return ours;
  };
  evaluate(ed, ms, trained_rep, with_untrained ? &untrained_rep : nullptr, config.heads, config.seed, o.options, res,
           o.progress);

  res.config = {{"data", o.data_path},
                {"methods", [&] {
                   Json names = Json::array();
                   for (const auto& m : ms) names.push_back(m.name);
                   return names;
                 }()},
                {"format", data.format},
                {"ad_view", res.ad_view},
                {"trace_log_coverage", coverage},
                {"call_edges",  // features.events.min_window_samples as the data chose it (-1) or as given
                 {{"window_rows", data.edge_sparsity.rows},
                  {"short_share", data.edge_sparsity.share()},
                  {"min_window_samples", data.features.options.events.min_window_samples}}},
                {"train", TrainConfig::schema().to_json(config)},
                {"eval", EvalOptions::schema().to_json(o.options)},
                {"models", fold_models},
                {"seed", config.seed},
                {"slices", data.slices.size()},
                {"faults", data.faults.size()}};
  res.metrics = metrics_json(res);
  res.report_html = write_report(o.out_dir, res);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  say(o.progress, cat("report written to ", res.report_html, " (", static_cast<int>(res.seconds), " s)"));
  return res;
}

}  // namespace rslicer::eval
