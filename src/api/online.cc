#include "api/online.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <optional>

#include "core/errors.h"
#include "core/progress.h"
#include "logparse/drain.h"
#include "serialize/serialize.h"
#include "slice/slice.h"
#include "tasks/zero_label.h"

namespace rslicer {

struct OnlineDetector::Impl {
  const EmbeddingModel& model;
  const FailureHeads& heads;
  const Catalog& catalog;
  OnlineOptions options;
  PrepareOptions prepare;
  DrainMiner miner;
  TemplateNames template_names;
  std::unique_ptr<FeatureExtractor> extractor;
  std::unique_ptr<SliceSerializer> serializer;
  std::unique_ptr<Slicer> slicer;
  EventProfile prior;                // the model's profile (+ a restored stream profile)
  std::deque<FeatureSlice> pending;  // cut, waiting for the panes of their whole window
  TimeUs newest_start = INT64_MIN;   // start of the newest slice cut

  // decided slices (positions = timeline positions)
  std::vector<FeatureSlice> slices;
  std::vector<std::vector<EventDeviation>> deviations;
  std::vector<SliceEmbedding> emb, ad_emb;
  std::vector<int> states;
  std::vector<TimelinePoint> timeline;
  FailureHeads::AdStream ad_stream;
  std::optional<ZeroLabelRanker> ranker;
  CalibrationArchive archive;  // the ranker's calibration rows of released slices (and the model's training rows)
  size_t fit_slices = 0;
  EntityDirectory entities;
  size_t entities_known = 0;

  std::vector<TimelinePoint> history;  // decided before a restart (restore()); positions above count after it
  std::vector<Incident> history_incidents;
  std::vector<size_t> run;           // the alarms of the current run
  std::vector<Id> run_tops;          // their top-ranked entities, each slice ranked alone (root_cause_takeover)
  bool run_reported = false;         // its incident is incidents.back()
  std::vector<Incident> incidents;
  OnlineCounters counters;
  MetricWarmup warmup;  // the metric baselines start empty, after a restart too

  Impl(const Pipeline& p, const Catalog& c, OnlineOptions o)
      : model(p.model()),
        heads(p.model().heads()),
        catalog(c),
        options(std::move(o)),
        prepare(p.model().prepare_options({}, false)),
        miner(prepare.initial_drain && !prepare.initial_drain->is_null() ? DrainMiner::from_json(*prepare.initial_drain)
                                                                         : DrainMiner(prepare.drain)),
        template_names(miner) {
    DetectOptions::schema().validate(options.detect);
    // the stream's ranker calibrates on its past and, from its first slice, on the model's training rows
    if (const CalibrationArchive* training = p.model().calibration()) archive = *training;
    RSLICER_CHECK(options.refit_slices >= 1, InvalidInput, "online: refit_slices must be >= 1, got ",
                  options.refit_slices);
    RSLICER_CHECK(options.calibration_slices <= 0 || options.calibration_slices >= options.refit_slices, InvalidInput,
                  "online: calibration_slices (", options.calibration_slices, ") must be 0 or at least refit_slices (",
                  options.refit_slices, ")");
    FeatureState state = *prepare.initial_features;
    state.frozen = true;
    warmup.min_points = state.options.min_baseline;
    state.options.events.profile = "causal";  // online: the past only
    auto text = [this](Id id) { return template_names(id); };
    extractor = std::make_unique<FeatureExtractor>(std::move(state), catalog, text, prepare.slice.window_stride_s);
    if (prepare.serialize_texts) serializer = std::make_unique<SliceSerializer>(catalog, text);
    SliceOptions so = prepare.slice;
    if (options.allowed_lateness_s >= 0) so.allowed_lateness_s = options.allowed_lateness_s;
    so.read_ahead = false;
    slicer = std::make_unique<Slicer>(so, std::vector<FaultEvent>{}, [this](Slice&& s) { cut(std::move(s)); });
    ad_stream = heads.ad_stream();
    if (prepare.prior_profile) prior = *prepare.prior_profile;
  }

  void cut(Slice&& slice) {
    FeatureSlice fs = extractor->extract(slice);
    if (serializer) {
      SerializedSlice texts = serializer->serialize(slice);
      fs.texts = {std::move(texts.metrics), std::move(texts.traces), std::move(texts.logs)};
    }
    extractor->add_pane(fs);
    newest_start = fs.start;
    pending.push_back(std::move(fs));
  }

  // Decides the pending slices whose window panes are all known (all of them at the end of the stream).
  void decide_ready(bool flush) {
    while (!pending.empty() && (flush || newest_start >= pending.front().end)) {
      FeatureSlice fs = std::move(pending.front());
      pending.pop_front();
      std::vector<EventDeviation> devs = extractor->finish_causal(fs, &prior);
      counters.prior_held_slices = static_cast<std::int64_t>(extractor->prior_overlap());
      if (!history.empty() && fs.start <= history.back().start) {  // decided before the restart
        ++counters.resumed_skipped;
        continue;
      }
      warmup.observe(fs);
      slices.push_back(std::move(fs));
      deviations.push_back(std::move(devs));
      decide(slices.size() - 1);
    }
  }

  void decide(size_t i) {
    // One slice per encoder call: the numbers do not depend on how the stream was chunked.
    const std::vector<FeatureSlice> one{slices[i]};
    emb.push_back(model.embed(one).front());
    if (model.ad_view() != "all") ad_emb.push_back(model.embed_ad_view(one).front());
    states.push_back(heads.states({emb.back()}).front());
    if (catalog.entities.size() != entities_known) {
      entities = entity_directory(catalog);
      entities_known = catalog.entities.size();
    }
    // The ranker's calibration: every slice at first, then at least every refit_slices (and every quarter growth).
    const size_t n = i + 1;
    const size_t due = std::max<size_t>(1, std::min<size_t>(options.refit_slices, fit_slices / 4));
    if (!ranker || n - fit_slices >= due) {
      ranker = ZeroLabelRanker::fit(slices, deviations, &emb, catalog, ranker_options(heads.options()), &archive);
      fit_slices = n;
      ++counters.ranker_fits;
    }
    const HeadInputs in = inputs();
    AnomalyTimeline t = heads.detect(in, {i}, &ad_stream);
    timeline.push_back(
        {emb[i].start, emb[i].end, t.scores[0], t.thresholds[0], t.states[0], t.alarms[0], t.alarmed_by[0]});
    const TimeUs gap = static_cast<TimeUs>(options.detect.incident_gap_s * kUsPerSecond);
    if (t.alarms[0]) {
      ++counters.alarms;
      if (!run.empty() && emb[i].end - emb[run.back()].end > gap) close_run();
      run.push_back(i);
      if (options.detect.split_on_root_cause && in.ranker) {  // another root cause taking over starts an incident
        run_tops.push_back(top_entity_alone(*in.ranker, i));
        const size_t at = root_cause_takeover(run_tops, takeover_slices(options.detect));
        if (at < run_tops.size()) {
          std::vector<size_t> next(run.begin() + static_cast<std::ptrdiff_t>(at), run.end());
          std::vector<Id> next_tops(run_tops.begin() + static_cast<std::ptrdiff_t>(at), run_tops.end());
          run.resize(at);
          if (static_cast<std::int32_t>(run.size()) >= options.detect.min_incident_slices) {
            update_incident(in);  // the finished part as it ends now
          } else if (run_reported) {  // too short on its own, as offline: the open incident is withdrawn
            incidents.pop_back();
            run_reported = false;
          }
          close_run();
          run = std::move(next);
          run_tops = std::move(next_tops);
        }
      }
      update_incident(in);
    } else if (!run.empty() && emb[i].end - emb[run.back()].end > gap) {
      close_run();
    }
    release_old();
  }

  // Releases the heavy parts of slices beyond the window; positions stay valid (the ranker and incidents index
  // slices by position). A released slice's calibration rows move to the archive first, so the ranker still
  // calibrates on the whole past (bounded: the archive thins itself).
  void release_old() {
    if (options.calibration_slices <= 0) return;
    const size_t keep = static_cast<size_t>(options.calibration_slices);
    size_t limit = slices.size() > keep ? slices.size() - keep : 0;
    if (!run.empty()) limit = std::min(limit, run.front());
    for (size_t i = static_cast<size_t>(counters.released_slices); i < limit; ++i) {
      if (ranker) ranker->archive(i, archive);
      FeatureSlice& s = slices[i];
      for (auto& t : s.tokens) t = TokenSet{};
      for (auto& t : s.texts) std::string().swap(t);
      s.head_pane.reset();
      std::vector<EventDeviation>().swap(deviations[i]);
      for (auto* e : {&emb[i], i < ad_emb.size() ? &ad_emb[i] : nullptr}) {
        if (!e) continue;
        std::vector<Id>().swap(e->entities);
        std::vector<float>().swap(e->entity_embeddings);
        std::vector<float>().swap(e->entity_modality_embeddings);
        std::vector<std::uint8_t>().swap(e->entity_modality_mask);
        std::vector<float>().swap(e->entity_scores);
      }
      counters.released_slices = static_cast<std::int64_t>(i + 1);
    }
  }

  HeadInputs inputs() const {
    HeadInputs in{&emb, ad_emb.empty() ? &emb : &ad_emb, &entities, nullptr, nullptr};
    in.ranker = ranker ? &*ranker : nullptr;
    in.event_names = &extractor->summarizer().key_names();
    in.kpi_slots = &extractor->state().kpi_slots;
    in.kpi_z_clip = extractor->state().options.z_clip;
    return in;
  }

  void update_incident(const HeadInputs& in) {
    if (static_cast<std::int32_t>(run.size()) < options.detect.min_incident_slices) return;
    Incident inc = build_incident(run, timeline, states, heads, in, options.detect, model.config().slice.window_stride_s);
    inc.open = true;
    if (run_reported) incidents.back() = std::move(inc);
    else incidents.push_back(std::move(inc));
    run_reported = true;
  }

  void close_run() {
    if (run_reported) incidents.back().open = false;
    run.clear();
    run_tops.clear();
    run_reported = false;
  }
};

OnlineDetector::OnlineDetector(const Pipeline& pipeline, const Catalog& catalog, OnlineOptions options)
    : impl_(std::make_unique<Impl>(pipeline, catalog, std::move(options))) {}

OnlineDetector::~OnlineDetector() = default;

void OnlineDetector::push(RecordBatch& batch) {
  Impl& im = *impl_;
  first_new_ = im.timeline.size();
  for (auto& l : batch.logs)
    if (!l.message.empty()) l.template_id = static_cast<Id>(im.miner.add(l.message));
  for_each_in_time_order(batch, [&](auto&& r) { im.slicer->push(std::move(r)); });
  im.decide_ready(false);
}

void OnlineDetector::finish() {
  Impl& im = *impl_;
  first_new_ = im.timeline.size();
  im.slicer->finish();
  im.decide_ready(true);
  im.close_run();
}

DetectResult OnlineDetector::result() const {
  const Impl& im = *impl_;
  DetectResult r;
  r.timeline = im.history;
  r.timeline.insert(r.timeline.end(), im.timeline.begin(), im.timeline.end());
  r.incidents = im.history_incidents;
  for (Incident inc : im.incidents) {
    for (size_t& i : inc.slices) i += im.history.size();
    r.incidents.push_back(std::move(inc));
  }
  r.stride_s = im.model.config().slice.window_stride_s;
  r.warmup = im.warmup;
  return r;
}

const std::vector<TimelinePoint>& OnlineDetector::timeline() const { return impl_->timeline; }
size_t OnlineDetector::decided() const { return impl_->history.size() + impl_->timeline.size(); }
size_t OnlineDetector::reported() const { return impl_->history_incidents.size() + impl_->incidents.size(); }
const std::vector<Incident>& OnlineDetector::incidents() const { return impl_->incidents; }

nlohmann::json OnlineDetector::state() const {
  const Impl& im = *impl_;
  return {{"profile", im.extractor->causal_profile().to_json()},  {"spot", im.ad_stream.spot.to_json()},
          {"event_spot", im.ad_stream.event_spot.to_json()},      {"entity_spot", im.ad_stream.entity_spot.to_json()},
          {"kpi_spot", im.ad_stream.kpi_spot.to_json()},          {"knn", im.ad_stream.knn_to_json()},
          {"evidence_spot", im.ad_stream.evidence_spot.to_json()}};
}

void OnlineDetector::restore(const OnlineCheckpoint& c) {
  Impl& im = *impl_;
  RSLICER_CHECK(im.timeline.empty() && im.slicer->stats().records_in == 0, InvalidInput,
                "online: restore() must come before the first record");
  im.history = c.timeline;
  im.history_incidents = c.incidents;
  for (auto& inc : im.history_incidents) inc.open = false;
  if (c.state.is_object()) {
    if (c.state.contains("profile")) im.prior.merge(EventProfile::from_json(c.state.at("profile")));
    if (c.state.contains("spot")) im.ad_stream.spot = Spot::from_json(c.state.at("spot"));
    if (c.state.contains("event_spot")) im.ad_stream.event_spot = Spot::from_json(c.state.at("event_spot"));
    if (c.state.contains("entity_spot")) im.ad_stream.entity_spot = Spot::from_json(c.state.at("entity_spot"));
    if (c.state.contains("kpi_spot")) im.ad_stream.kpi_spot = Spot::from_json(c.state.at("kpi_spot"));
    if (c.state.contains("evidence_spot")) im.ad_stream.evidence_spot = Spot::from_json(c.state.at("evidence_spot"));
    if (c.state.contains("knn") && !im.ad_stream.knn_from_json(c.state.at("knn")))
      std::fprintf(stderr,
                   "online: the stored AD kNN references were taken with another model; starting without them\n");
  }
}

OnlineCounters OnlineDetector::counters() const {
  const Impl& im = *impl_;
  OnlineCounters c = im.counters;  // the event counts; the rest is read off the pipeline's state
  c.slicer = im.slicer->stats();
  c.records = c.slicer.records_in;
  c.watermark = c.slicer.last_time;
  c.slices = static_cast<std::int64_t>(im.timeline.size());
  c.pending_slices = static_cast<std::int64_t>(im.pending.size());
  c.resumed_slices = static_cast<std::int64_t>(im.history.size());
  c.knn_references_added = static_cast<std::int64_t>(im.ad_stream.knn.added_references());
  c.last_decided = !im.timeline.empty() ? im.timeline.back().end : !im.history.empty() ? im.history.back().end : 0;
  return c;
}

DetectResult detect_online(const Pipeline& pipeline, TelemetrySource& source, const OnlineOptions& options,
                           bool progress) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<FaultEvent> labels = source.faults();
  OnlineDetector online(pipeline, source.catalog(), options);
  auto stream = source.open();
  Progress bar("detect --online", -1, progress, 5.0);
  RecordBatch batch;
  std::int64_t n = 0;
  while (stream->next_batch(batch)) {
    n += static_cast<std::int64_t>(batch.size());
    online.push(batch);
    bar.update(n, cat(n, " records, ", online.timeline().size(), " slices, ", online.incidents().size(),
                      " incidents"));
  }
  online.finish();
  DetectResult r = online.result();
  bar.finish(cat(n, " records, ", r.timeline.size(), " slices, ", r.incidents.size(), " incidents"));
  if (const std::int64_t held = online.counters().prior_held_slices; progress && held > 0)
    std::fprintf(stderr, "note: %lld slice(s) of the stream lie in the model's training period; its saved event "
                 "profile holds them already, so they were compared with the stream's past alone\n",
                 static_cast<long long>(held));
  r.format = source.format();
  r.labels = std::move(labels);
  r.rejected_records = source.stats().rejected;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace rslicer
