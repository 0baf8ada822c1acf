#include "api/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "tasks/raw_metrics.h"
#include "tasks/trace_evidence.h"

namespace rslicer {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ZeroLabelRanker zero_label_ranker(const Dataset& d, const std::vector<SliceEmbedding>& embeddings,
                                  const HeadOptions& heads, const CalibrationArchive* training) {
  return ZeroLabelRanker::fit(d.slices, d.deviations, &embeddings, d.catalog, ranker_options(heads), training);
}

EntityDirectory entity_directory(const Catalog& catalog) {
  EntityDirectory d;
  for (size_t i = 0; i < catalog.entities.size(); ++i) {
    d.names.push_back(catalog.entities.name(static_cast<Id>(i)));
    const auto& info = catalog.entity_info[i];
    d.kinds.push_back(entity_kind_name(info.kind));
    d.services.push_back(info.service != kNoId && info.service != i ? catalog.entities.name(info.service) : "");
  }
  return d;
}

// ---------------------------------------------------------------- train

TrainSummary train_model(const TrainRequest& rq) {
  const auto t0 = std::chrono::steady_clock::now();
  const TrainConfig& config = rq.config;
  TrainConfig::schema().validate(config);
  RSLICER_CHECK(!rq.out_dir.empty(), InvalidInput, "train: no output folder for the model");
  std::vector<SourceSpec> sources = config.sources;
  // The data is the first source (the heads are fitted on it); a config that lists only simulator sources mixes
  // them into it (examples/simulator-mix.json).
  if (std::none_of(sources.begin(), sources.end(), [](const SourceSpec& s) { return s.type == "dataset"; }) &&
      !rq.data_path.empty()) {
    SourceSpec s;
    s.path = rq.data_path;
    s.format = rq.format.empty() ? "auto" : rq.format;
    sources.insert(sources.begin(), s);
  }
  RSLICER_CHECK(!sources.empty(), InvalidInput, "no training data: give --data or list sources in the config");
  // The first source is the system the heads are fitted for: its pass also builds the evidence tables.
  MetricTableBuilder metric_table;
  TraceTableBuilder trace_table;
  std::vector<Dataset> prepared;
  prepared.reserve(sources.size());
  for (const auto& s : sources) {
    PrepareOptions po;
    po.read = rq.read;
    po.slice = config.slice;
    po.features = config.features;
    po.progress = rq.progress;
    po.serialize_texts = config.encoder.backbone == "qwen3";
    std::vector<RecordObserver*> observers;
    if (prepared.empty()) {
      observers = {&metric_table, &trace_table};
    } else {
      po.initial_features = &prepared.front().features;
      po.initial_drain = &prepared.back().drain_state;
    }
    if (s.type == "simulator") {
      prepared.push_back(prepare_simulated(s.simulator, po, observers));
    } else {
      prepared.push_back(prepare(s.path, s.format, po, observers));
    }
    const auto& p = prepared.back();
    if (rq.progress)
      std::fprintf(stderr, "%s: %zu slices, %zu faults, %zu templates, %lld rejected records (%.1f s)\n",
                   s.type == "simulator" ? "simulator" : s.path.c_str(), p.slices.size(), p.faults.size(),
                   p.templates.size(), static_cast<long long>(p.parse_stats.rejected), p.seconds);
  }
  std::vector<TrainingSet> sets;
  std::vector<size_t> head_slices;  // the first source's training part, including the slices purged between
                                    // train and validation: the heads need no early stopping, and a labelled
                                    // case with a slice there would otherwise be left out
  for (size_t i = 0; i < prepared.size(); ++i) {
    TrainingSet ts;
    ts.data = &prepared[i];
    ts.ratio = sources[i].ratio;
    // controlled injection knows its root causes; a real source's labels do not teach L_entity (yet: with them
    // every labelled training run would change, and the gain is not measured)
    ts.entity_labels = sources[i].type == "simulator";
    RSLICER_CHECK(prepared[i].slices.size() >= 4, InvalidInput,
                  sources[i].type == "simulator" ? std::string("simulator") : sources[i].path, ": only ",
                  prepared[i].slices.size(), " slices, too few to train");
    Split sp = time_split(slice_windows(prepared[i].slices), config.split, prepared[i].faults);
    ts.train = sp.train;
    ts.validation = sp.validation;
    if (i == 0) head_slices = sp.first_part;
    if (rq.progress)
      std::fprintf(stderr, "split (%s): %zu train, %zu validation, %zu test slices%s\n", config.split.by.c_str(),
                   sp.train.size(), sp.validation.size(), sp.test.size(),
                   sp.test.empty() ? "" : cat(" (test from ", format_time(sp.test_start), ", never used)").c_str());
    sets.push_back(std::move(ts));
  }
  TrainOptions topt;
  topt.out_dir = rq.out_dir;
  topt.resume = rq.resume;
  topt.progress = rq.progress;
  topt.spent_s = seconds_since(t0);  // reading and simulating count against the budget
  TrainSummary summary;
  summary.encoder = train_encoder(config, sets, topt);

  // The heads, on the first source's training part (every slice before its test part, never the test part).
  const Dataset& d = prepared.front();
  EmbeddingModel model(config, summary.encoder.encoder, d.features, prepared.back().drain_state);
  summary.ad_view = resolve_ad_view(config.ad_view, trace_log_coverage(d.slices, head_slices));
  if (rq.progress) std::fprintf(stderr, "fitting the heads on %zu slices (AD view: %s)\n", head_slices.size(),
                                summary.ad_view.c_str());
  const std::vector<SliceEmbedding> emb = model.embed(d.slices, rq.progress);
  std::vector<SliceEmbedding> ad_emb;
  if (summary.ad_view != "all") ad_emb = model.embed_view(d.slices, summary.ad_view, rq.progress);
  const EntityDirectory entities = entity_directory(d.catalog);
  HeadInputs in{&emb, ad_emb.empty() ? &emb : &ad_emb, &entities, &metric_table.table(), &trace_table.table()};
  const ZeroLabelRanker ranker = zero_label_ranker(d, emb, config.heads);
  in.ranker = &ranker;

  in.event_names = &d.event_names;
  in.kpi_slots = &d.features.kpi_slots;
  in.kpi_z_clip = d.features.options.z_clip;
  // Labelled cases whose slices all lie in the heads' part.
  std::vector<TrainingCase> cases;
  std::vector<bool> in_part(d.slices.size(), false);
  for (size_t i : head_slices) in_part[i] = true;
  std::map<std::uint32_t, std::vector<size_t>> case_slices;
  for (size_t i = 0; i < d.slices.size(); ++i)
    for (std::uint32_t f : d.slices[i].faults) case_slices[f].push_back(i);
  for (const auto& [f, idx] : case_slices) {
    if (!std::all_of(idx.begin(), idx.end(), [&](size_t i) { return in_part[i]; })) continue;
    const FaultEvent& fe = d.faults[f];
    cases.push_back({fe.start, idx, fe.fault_type, fe.root_cause, fe.level});
  }
  FailureHeads heads = FailureHeads::fit(in, head_slices, cases, config.heads, config.seed);
  summary.head_slices = head_slices.size();
  summary.labelled_cases = cases.size();
  summary.heads_info = heads.info();
  model.set_heads(std::move(heads), summary.ad_view);
  model.set_profile(d.profile);
  // the ranker's calibration rows of the heads' part: detect and serve rank new data against them and its own
  model.set_calibration(ranker.calibration(head_slices, kSavedCalibrationRows));
  nlohmann::json log = summary.encoder.log;
  log["heads"] = {{"slices", summary.head_slices},
                  {"labelled_cases", summary.labelled_cases},
                  {"ad_view", summary.ad_view},
                  {"chosen", summary.heads_info}};
  model.save(rq.out_dir, log);
  summary.model_bytes = folder_bytes(rq.out_dir);
  return summary;
}

// ---------------------------------------------------------------- embed

EmbedResult embed_dataset(const EmbeddingModel& model, const std::string& path, const std::string& format,
                          const ReadOptions& read, bool progress) {
  Dataset d = rslicer::prepare(path, format, model.prepare_options(read, progress));
  EmbedResult r;
  r.prepare_seconds = d.seconds;
  r.rejected_records = d.parse_stats.rejected;
  auto t0 = std::chrono::steady_clock::now();
  r.slices = model.embed(d.slices, progress);
  r.embed_seconds = seconds_since(t0);
  r.embed_dim = r.slices.empty() ? model.config().encoder.embed_dim : static_cast<std::int64_t>(r.slices[0].state.size());
  return r;
}

// ---------------------------------------------------------------- detect

const config::Schema<DetectOptions>& DetectOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<DetectOptions>("detect")
          .num("incident_gap_s", &DetectOptions::incident_gap_s,
               "alarms whose decision times are at most this far apart join one incident", Range::at_least(0))
          .num("min_incident_slices", &DetectOptions::min_incident_slices,
               "shorter runs of alarmed slices are not reported as incidents", Range::at_least(1))
          .num("root_causes", &DetectOptions::root_causes, "ranked entities reported per incident",
               Range::closed(1, 1000))
          .flag("split_on_root_cause", &DetectOptions::split_on_root_cause,
                "a run of alarms splits into two incidents where another entity tops the ranking of as many "
                "consecutive slices as an incident needs (at least 2)");
  return s;
}

size_t root_cause_takeover(const std::vector<Id>& tops, size_t k) {
  const size_t n = tops.size();
  if (k == 0 || n <= k) return n;
  Id leader = kNoId;
  for (size_t j = 0; j < n - k && leader == kNoId; ++j) leader = tops[j];
  const Id t = tops[n - k];
  if (leader == kNoId || t == kNoId || t == leader) return n;
  for (size_t j = n - k; j < n; ++j)
    if (tops[j] != t) return n;
  return n - k;
}

Id top_entity_alone(const ZeroLabelRanker& ranker, size_t slice) {
  const auto ranked = ranker.rank({slice});
  return ranked.empty() || !(ranked[0].score > 0) ? kNoId : ranked[0].entity;
}

size_t takeover_slices(const DetectOptions& o) {
  return static_cast<size_t>(std::max<std::int32_t>(2, o.min_incident_slices));
}

Pipeline::Pipeline(std::unique_ptr<EmbeddingModel> model, std::string model_dir)
    : model_(std::move(model)), model_dir_(std::move(model_dir)) {
  model_->heads();  // ModelError when the model has no heads
}

std::unique_ptr<Pipeline> Pipeline::load(const std::string& model_dir) {
  return std::make_unique<Pipeline>(EmbeddingModel::load(model_dir), model_dir);
}

Dataset Pipeline::prepare(TelemetrySource& source, const ReadOptions& read, bool progress,
                          const std::vector<RecordObserver*>& observers) const {
  return rslicer::prepare(source, model_->prepare_options(read, progress), observers);
}

DetectResult Pipeline::detect(const std::string& path, const std::string& format, const ReadOptions& read,
                              const DetectOptions& options, bool progress) const {
  auto source = open_source(path, format, read);
  DetectResult r = detect(*source, options, progress);
  r.data = path;
  return r;
}

DetectResult Pipeline::detect(TelemetrySource& source, const DetectOptions& o, bool progress) const {
  DetectOptions::schema().validate(o);
  auto t0 = std::chrono::steady_clock::now();
  MetricTableBuilder metric_table;
  TraceTableBuilder trace_table;
  Dataset d = prepare(source, ReadOptions{}, progress, {&metric_table, &trace_table});
  DetectResult r;
  r.model = model_dir_;
  r.format = d.format;
  r.labels = d.faults;  // for display only: the slices lose them before any head sees them
  for (auto& s : d.slices) s.faults.clear();
  r.stride_s = model_->config().slice.window_stride_s;
  r.rejected_records = d.parse_stats.rejected;
  r.warmup.min_points = d.features.options.min_baseline;
  for (const auto& s : d.slices) r.warmup.observe(s);
  if (d.slices.empty()) {
    r.seconds = seconds_since(t0);
    return r;
  }
  const std::vector<SliceEmbedding> emb = model_->embed(d.slices, progress);
  std::vector<SliceEmbedding> ad_emb;
  if (model_->ad_view() != "all") ad_emb = model_->embed_ad_view(d.slices, progress);
  const EntityDirectory entities = entity_directory(d.catalog);
  HeadInputs in{&emb, ad_emb.empty() ? &emb : &ad_emb, &entities, &metric_table.table(), &trace_table.table()};
  const FailureHeads& heads = model_->heads();
  const ZeroLabelRanker ranker = zero_label_ranker(d, emb, heads.options(), model_->calibration());
  in.ranker = &ranker;

  in.event_names = &d.event_names;
  in.kpi_slots = &d.features.kpi_slots;
  in.kpi_z_clip = d.features.options.z_clip;

  std::vector<size_t> all(emb.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  AnomalyTimeline t = heads.detect(in, all);
  for (size_t i = 0; i < all.size(); ++i)
    r.timeline.push_back(
        {emb[i].start, emb[i].end, t.scores[i], t.thresholds[i], t.states[i], t.alarms[i], t.alarmed_by[i]});

  // Incidents: runs of alarms whose decision times are at most incident_gap_s apart, split where another root
  // cause takes over (the same rule as online: slice by slice, each slice ranked alone).
  const TimeUs gap = static_cast<TimeUs>(o.incident_gap_s * kUsPerSecond);
  std::vector<std::vector<size_t>> runs;
  std::vector<Id> tops;  // the current run's per-slice top entities
  for (size_t i = 0; i < all.size(); ++i) {
    if (!t.alarms[i]) continue;
    if (!runs.empty() && emb[i].end - emb[runs.back().back()].end <= gap) {
      runs.back().push_back(i);
    } else {
      runs.push_back({i});
      tops.clear();
    }
    if (!o.split_on_root_cause) continue;
    tops.push_back(top_entity_alone(ranker, i));
    const size_t at = root_cause_takeover(tops, takeover_slices(o));
    if (at < tops.size()) {
      std::vector<size_t> next(runs.back().begin() + static_cast<std::ptrdiff_t>(at), runs.back().end());
      runs.back().resize(at);
      runs.push_back(std::move(next));
      tops.erase(tops.begin(), tops.begin() + static_cast<std::ptrdiff_t>(at));
    }
  }
  const std::vector<int> states = heads.states(emb);
  for (const auto& run : runs)
    if (static_cast<std::int32_t>(run.size()) >= o.min_incident_slices)
      r.incidents.push_back(build_incident(run, r.timeline, states, heads, in, o, r.stride_s));
  r.seconds = seconds_since(t0);
  return r;
}

namespace {
// the part that alarmed on most slices first (ties by name), so that a stored incident reads back the same
void sort_alarmed_by(Incident& inc) {
  std::sort(inc.alarmed_by.begin(), inc.alarmed_by.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
}
}  // namespace

Incident build_incident(const std::vector<size_t>& run, const std::vector<TimelinePoint>& timeline,
                        const std::vector<int>& states, const FailureHeads& heads, const HeadInputs& in,
                        const DetectOptions& o, double stride_s) {
  RSLICER_CHECK(!run.empty(), InvalidInput, "an incident needs at least one alarmed slice");
  const TimeUs stride = static_cast<TimeUs>(stride_s * kUsPerSecond);
  const TimeUs case_tail = static_cast<TimeUs>(heads.options().case_tail_s * kUsPerSecond);
  Incident inc;
  inc.slices = run;
  inc.start = timeline[run.front()].start;
  inc.end = timeline[run.back()].end;
  inc.onset = timeline[run.front()].end - stride;
  for (size_t i : run) inc.peak_score = std::max(inc.peak_score, timeline[i].score);
  for (std::uint8_t bit : {kAdEvents, kAdEmbedding, kAdEntity, kAdKpi}) {
    int n = 0;
    for (size_t i : run) n += (timeline[i].alarmed_by & bit) != 0;
    if (n > 0) inc.alarmed_by.push_back({ad_part_names(bit).front(), n});
  }
  sort_alarmed_by(inc);
  std::map<int, int> votes;
  for (size_t i : run) votes[states[i]]++;
  int best = -1;
  for (auto& [s, n] : votes)
    if (n > best) {
      best = n;
      inc.state = s;
    }
  // The case the heads look at: the incident's slices that start before onset + case_tail.
  std::vector<size_t> case_slices;
  for (size_t i = run.front(); i <= run.back(); ++i)
    if (timeline[i].start < inc.onset + case_tail) case_slices.push_back(i);
  inc.fault_type = heads.triage(in, states, case_slices, inc.onset);
  inc.root_causes = heads.rank(in, states, case_slices, inc.onset, static_cast<size_t>(o.root_causes));
  if (inc.root_causes.size() > static_cast<size_t>(o.root_causes)) inc.root_causes.resize(o.root_causes);
  return inc;
}

std::string alarmed_by_text(const Incident& inc) {
  std::string out;
  for (size_t k = 0; k < inc.alarmed_by.size(); ++k) {
    const auto& [part, n] = inc.alarmed_by[k];
    out += (k == 0 ? "alarmed by the " : ", the ") + part + " (" + std::to_string(n) +
           (k == 0 ? " of " + std::to_string(inc.slices.size()) + " slices)" : ")");
  }
  return out;
}

// ---------------------------------------------------------------- incidents.json

namespace {

double unix_s(TimeUs t) { return static_cast<double>(t) / kUsPerSecond; }

}  // namespace

nlohmann::json to_json(const Incident& inc) {
  nlohmann::json causes = nlohmann::json::array();
  for (const auto& c : inc.root_causes) causes.push_back({{"entity", c.entity}, {"score", c.score}, {"evidence", c.evidence}});
  nlohmann::json alarmed = nlohmann::json::object();
  for (const auto& [part, n] : inc.alarmed_by) alarmed[part] = n;
  return {{"start", unix_s(inc.start)},
          {"end", unix_s(inc.end)},
          {"peak_score", inc.peak_score},
          {"state", inc.state},
          {"fault_type", {{"label", inc.fault_type.label}, {"confidence", inc.fault_type.confidence}}},
          {"root_causes", causes},
          {"alarmed_by", alarmed},
          {"open", inc.open}};
}

Incident incident_from_json(const nlohmann::json& j) {
  auto us_of = [](const nlohmann::json& v) { return static_cast<TimeUs>(std::llround(v.get<double>() * kUsPerSecond)); };
  try {
    Incident inc;
    inc.start = us_of(j.at("start"));
    inc.end = us_of(j.at("end"));
    inc.onset = j.contains("onset") ? us_of(j.at("onset")) : inc.start;
    inc.peak_score = j.at("peak_score").get<double>();
    inc.state = j.at("state").get<int>();
    inc.fault_type.label = j.at("fault_type").at("label").get<std::string>();
    inc.fault_type.confidence = j.at("fault_type").at("confidence").get<double>();
    for (const auto& c : j.at("root_causes"))
      inc.root_causes.push_back(
          {c.at("entity").get<std::string>(), c.at("score").get<double>(), c.at("evidence").get<std::vector<std::string>>()});
    inc.open = j.value("open", false);
    if (j.contains("alarmed_by"))  // absent in incidents stored by an older rslicer
      for (const auto& [part, n] : j.at("alarmed_by").items()) inc.alarmed_by.push_back({part, n.get<int>()});
    sort_alarmed_by(inc);
    if (j.contains("slices")) inc.slices = j.at("slices").get<std::vector<size_t>>();
    return inc;
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(cat("not an incident object: ", e.what()));
  }
}

nlohmann::json to_json(const TimelinePoint& p) {
  return {{"start", unix_s(p.start)},
          {"end", unix_s(p.end)},
          {"score", p.score},
          {"threshold", p.threshold},
          {"state", p.state},
          {"alarm", p.alarm},
          {"alarmed_by", ad_part_names(p.alarmed_by)}};
}

void MetricWarmup::observe(const FeatureSlice& slice) {
  if (done()) return;
  const double ready = metric_readiness(slice);
  if (ready >= 0.5) {
    until = slice.start;
    ended = true;
  } else if (ready >= 0) {
    ++slices;
  }
}

std::string warmup_text(const MetricWarmup& w) {
  if (w.slices == 0) return "";
  const std::string why = cat("fewer than ", w.min_points, " past points for a baseline (features.min_baseline)");
  if (!w.done())
    return cat("no slice was judged on its metrics: most KPI series had ", why, "; more data gives them one");
  const bool one = w.slices == 1;
  return cat("the first ", w.slices, one ? " slice (the one" : " slices (those", " starting before ",
             format_time(w.until), one ? ") was" : ") were", " not judged on ", one ? "its" : "their",
             " metrics: most KPI series had ", why);
}

nlohmann::json to_json(const MetricWarmup& w) {
  return {{"slices", w.slices},
          {"until", w.done() ? nlohmann::json(unix_s(w.until)) : nlohmann::json()},
          {"min_points", w.min_points}};
}

nlohmann::json to_json(const DetectResult& r) {
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& p : r.timeline) timeline.push_back(to_json(p));
  nlohmann::json incidents = nlohmann::json::array();
  for (const auto& inc : r.incidents) incidents.push_back(to_json(inc));
  return {{"model", r.model},
          {"data", r.data},
          {"slices", r.timeline.size()},
          {"metric_warmup", to_json(r.warmup)},
          {"timeline", timeline},
          {"incidents", incidents}};
}

}  // namespace rslicer
