#include "dataset/dataset.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "core/progress.h"
#include "serialize/serialize.h"
#include "sim/sim_source.h"

namespace rslicer {

std::string Dataset::template_text(Id id) const {
  return id < templates.size() ? templates[id].text() : cat("template ", id);
}

std::string TemplateNames::operator()(Id id) {
  if (id < cache_.size() && !cache_[id].empty()) return cache_[id];
  if (id >= miner_.templates().size()) return cat("template ", id);
  if (cache_.size() <= id) cache_.resize(id + 1);
  cache_[id] = miner_.templates()[id].text();
  return cache_[id];
}

Dataset prepare(TelemetrySource& source, const PrepareOptions& options, const std::vector<RecordObserver*>& observers) {
  auto t0 = std::chrono::steady_clock::now();
  Dataset out;
  out.format = source.format();
  out.faults = source.faults();
  const Catalog& catalog = source.catalog();

  DrainMiner miner = options.initial_drain && !options.initial_drain->is_null()
                         ? DrainMiner::from_json(*options.initial_drain)
                         : DrainMiner(options.drain);
  FeatureState state;
  if (options.initial_features) {
    state = *options.initial_features;
    state.frozen = true;
  } else {
    state.options = options.features;
  }
  TemplateNames template_names(miner);
  auto template_text = [&](Id id) { return template_names(id); };
  std::unique_ptr<FeatureExtractor> extractor;
  std::unique_ptr<SliceSerializer> serializer;
  if (options.features_enabled) {
    extractor = std::make_unique<FeatureExtractor>(std::move(state), catalog, template_text,
                                                   options.slice.window_stride_s);
    if (options.serialize_texts)
      serializer = std::make_unique<SliceSerializer>(catalog, [&](Id id) { return template_text(id); });
  }

  Progress progress("prepare " + source.format(), -1, options.progress, 5.0);
  std::int64_t records = 0;
  TimeUs last_start = INT64_MIN;
  std::unordered_set<Id> metric_entities, metric_kpis;
  std::unordered_set<IdString> trace_ids;
  std::unordered_set<Id> span_services;
  std::unordered_map<Id, std::int64_t> peer_calls;  // named callee's service -> client spans naming it
  auto count = [&] {
    if ((++records & 0xfffff) == 0)
      progress.update(records, cat(records, " records, ", out.slices.size(), " slices, ", miner.templates().size(),
                                   " templates"));
  };
  RecordHooks hooks;
  hooks.metric = [&](MetricPoint& m) {
    metric_entities.insert(m.entity);
    metric_kpis.insert(m.kpi);
    for (auto* o : observers) o->metric(m, catalog);
    count();
  };
  hooks.span = [&](Span& s) {
    trace_ids.insert(s.trace_id);
    span_services.insert(catalog.service_of(s.entity));
    if (s.peer != kNoId) ++peer_calls[catalog.service_of(s.peer)];
    for (auto* o : observers) o->span(s, catalog);
    count();
  };
  hooks.log = [&](LogRecord& log) {
    if (!log.message.empty()) log.template_id = static_cast<Id>(miner.add(log.message));
    for (auto* o : observers) o->log(log, catalog);
    count();
  };
  auto sink = [&](Slice&& slice) {
    RSLICER_CHECK(slice.start >= last_start, InvalidInput, "slices out of time order at ", format_time(slice.start));
    last_start = slice.start;
    for (int m = 0; m < kNumModalities; ++m)
      if (slice.mask.has(static_cast<Modality>(m))) ++out.slices_with[m];
    if (!extractor) return;
    FeatureSlice fs = extractor->extract(slice);
    if (serializer) {
      SerializedSlice texts = serializer->serialize(slice);
      fs.texts = {std::move(texts.metrics), std::move(texts.traces), std::move(texts.logs)};
    }
    out.slices.push_back(std::move(fs));
  };
  // Parsing may run ahead on a second thread only when nothing reads the
  // source's catalog while slicing (the extractor and the observers do).
  SliceOptions slice_options = options.slice;
  slice_options.read_ahead = !extractor && observers.empty();
  if (options.read.allowed_lateness_s >= 0) slice_options.allowed_lateness_s = options.read.allowed_lateness_s;
  out.slice_stats = slice_source(source, slice_options, sink, hooks, false);  // the "prepare" line reports
  const SliceStats& ss = out.slice_stats;
  RSLICER_CHECK(!options.read.strict || ss.late_records == 0, InvalidInput, "--strict: ", ss.late_records,
                " record(s) arrived after their windows closed and were dropped (first: ", ss.late_examples.front(),
                "); sort the input or raise --allowed-lateness");
  RSLICER_CHECK(!options.read.strict || ss.clock_outliers == 0, InvalidInput, "--strict: ", ss.clock_outliers,
                " record(s) far from the data's time were dropped as clock outliers (first: ",
                ss.outlier_examples.front(), ")");
  // The time range of the records the slicer accepted: a clock outlier (years ahead) is not part of it.
  if (out.slice_stats.records_in > out.slice_stats.clock_outliers) {
    out.first_time = out.slice_stats.first_time;
    out.last_time = out.slice_stats.last_time;
  }
  for (auto* o : observers) o->finish(catalog);
  progress.finish(cat(out.slices.size(), " slices, ", records, " records, ", miner.templates().size(), " templates"));

  out.catalog = catalog;
  if (extractor) {
    extractor->finish(out.slices, options.prior_profile);  // trace and log tokens against the profile
    out.features = extractor->state();
    out.profile = extractor->profile();
    out.deviations = extractor->take_deviations();
    out.event_names = extractor->summarizer().key_names();
  }
  out.drain_state = miner.to_json();
  out.templates = miner.templates();
  out.parse_stats = source.stats();
  auto pct = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100.0 * x);
    return std::string(b);
  };
  if (extractor && extractor->edge_sparsity().rows > 0) {  // min_window_samples: what the data says of it
    const EdgeSparsity& sp = out.edge_sparsity = extractor->edge_sparsity();
    const EventOptions& eo = extractor->state().options.events;
    const bool sparse = sp.share() >= eo.sparse_edge_share;
    const std::string share = cat(pct(sp.share()), " of the windows' call edges have fewer than ", eo.min_samples,
                                  " calls (", sp.few, " of ", sp.rows, ")");
    std::string note;
    bool keep = true;  // a note of the run, not only a progress line
    if (sp.chose && sparse)
      note = cat(share, ", at least ", pct(eo.sparse_edge_share),
                 ": sampled or low-rate traces; call times are scored from single calls "
                 "(features.events.min_window_samples -1 chose 1)");
    else if (sp.chose) {
      keep = false;
      note = cat(share, ", under ", pct(eo.sparse_edge_share), ": a call time needs ", eo.min_samples,
                 " calls in a window (features.events.min_window_samples -1 chose 0)");
    } else if (sparse && eo.min_window_samples == 0)
      note = cat(share, ": sampled or low-rate traces, but features.events.min_window_samples is 0 (given, or the "
                 "model's), so a call time needs ", eo.min_samples, " calls and thin edges go unscored; -1 lets the "
                 "data choose (a model: train it on such data)");
    else if (!sparse && eo.min_window_samples == 1)
      note = cat(share, ": most call edges carry enough calls, but features.events.min_window_samples is 1 (given, "
                 "or the model's): single calls count, which costs where traces are complete (docs/results.md, "
                 "\"Sampled traces\")");
    if (!note.empty()) {
      if (keep) out.parse_stats.notes.push_back(note);
      if (options.progress) std::fprintf(stderr, "note: %s\n", note.c_str());
    }
  }
  if (extractor) {  // spans whose log steps were not judged (features.events.log_gaps): counted and said
    const auto& g = extractor->summarizer().log_gaps();
    if (g.gap_spans > 0 && g.judged > 0) {
      const std::string note = cat(
          g.gap_spans, " span(s) (",
          g.gap_spans * 1000 < g.gap_spans + g.judged
              ? std::string("under 0.1%")
              : pct(static_cast<double>(g.gap_spans) / (g.gap_spans + g.judged)),
          ") in ", g.gap_panes, " pane(s) lie where logs were not being collected (before the logs of their slice ",
          "start or after they stop, or where far fewer spans around them have a log line joined, while other spans ",
          "of the data have lines): they are not judged on their log steps (features.events.log_gaps)");
      out.parse_stats.notes.push_back(note);
      if (options.progress) std::fprintf(stderr, "note: %s\n", note.c_str());
    }
  }
  if (extractor) {  // KPIs a node shares with its pods: said, as the zero-label ranking leaves them out
    // (z 3: the ranker's effect size, ZeroLabelOptions::min_z, which no option changes; tasks/ is above dataset/)
    const std::vector<char> shared = shared_kpi_slots(out.slices, /*min_z=*/3.0);
    const auto& slots = extractor->state().kpi_slots;
    std::string names;
    for (size_t j = 0; j < shared.size(); ++j)
      if (shared[j])
        names += (names.empty() ? "" : ", ") + (j < slots.size() ? slots[j] : "KPI slot " + std::to_string(j));
    if (!names.empty()) {
      const std::string note = cat("KPIs whose deviations the entities of a slice mostly share exactly (a node's KPI "
                                   "joined to each of its pods): ", names, "; the zero-label root-cause ranking does "
                                   "not count them (unless heads.rcl_shared_kpis)");
      out.parse_stats.notes.push_back(note);
      if (options.progress) std::fprintf(stderr, "note: %s\n", note.c_str());
    }
  }
  if (extractor && extractor->prior_overlap() > 0) {  // after the source's stats: a note of this pass
    const std::string note = cat(extractor->prior_overlap(),
                                 " slice(s) of this data lie in the period the model's saved event profile was built "
                                 "from (its training data), which holds them already: their event profile comes "
                                 "from this data alone");
    out.parse_stats.notes.push_back(note);
    if (options.progress) std::fprintf(stderr, "note: %s\n", note.c_str());
  }
  // A label whose root cause names no entity of the data cannot be scored for root cause: said, not dropped.
  size_t unknown_causes = 0;
  const FaultEvent* first_unknown = nullptr;
  for (const auto& f : out.faults)
    if (!f.root_cause.empty() && catalog.entities.find(f.root_cause) == kNoId && unknown_causes++ == 0) first_unknown = &f;
  if (first_unknown)
    out.parse_stats.notes.insert(out.parse_stats.notes.begin(), cat(unknown_causes, " label(s) name a root cause that is no entity of the data (first: '",
                                        first_unknown->root_cause, "', ", first_unknown->source,
                                        "); root cause scores cannot find them"));
  out.counts = source.counts();
  out.metric_entities = static_cast<std::int64_t>(metric_entities.size());
  out.metric_kpis = static_cast<std::int64_t>(metric_kpis.size());
  out.trace_ids = static_cast<std::int64_t>(trace_ids.size());
  for (const auto& [peer, n] : peer_calls)
    if (!span_services.count(peer)) out.untraced_callees.emplace_back(catalog.entities.name(peer), n);
  std::sort(out.untraced_callees.begin(), out.untraced_callees.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

Dataset prepare(const std::string& path, const std::string& format, const PrepareOptions& options,
                const std::vector<RecordObserver*>& observers) {
  std::unique_ptr<TelemetrySource> source = open_source(path, format, options.read);
  Dataset d = prepare(*source, options, observers);
  d.path = path;
  return d;
}

Dataset prepare_simulated(const nlohmann::json& sim_config, const PrepareOptions& options,
                          const std::vector<RecordObserver*>& observers) {
  sim::SimConfig cfg = sim::parse_sim_config(sim_config.is_null() ? std::string("{}") : sim_config.dump(),
                                             "sources[].simulator");
  auto source = sim::open_simulation(cfg);
  Dataset d = prepare(*source, options, observers);
  d.path = "simulator";
  return d;
}

}  // namespace rslicer
