#include "eval/methods.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/errors.h"
#include "tasks/zero_label.h"

namespace rslicer::eval {

namespace {

using Json = nlohmann::json;

TimeUs us(double s) { return static_cast<TimeUs>(s * kUsPerSecond); }

// The decision points of the fold's test slices.
void add_points(const FoldContext& c, const std::vector<bool>& alarms, const std::vector<double>& scores,
                const std::vector<double>& thr, const std::vector<int>& states, AdRun& run) {
  const EvalData& d = *c.data;
  for (size_t k = 0; k < c.test.size(); ++k) {
    const size_t i = c.test[k];
    run.points.push_back({d.windows[i].second - us(d.stride_s), alarms[k], !d.slice_faults[i].empty()});
    run.scores.push_back(scores[k]);
    run.thresholds.push_back(thr.empty() ? 0 : thr[k]);
    run.states.push_back(states.empty() ? 0 : states[k]);
    run.point_faults.push_back(d.slice_faults[i]);
  }
}

std::vector<size_t> case_slices(const FoldContext& c, size_t f) {
  auto it = c.case_slices.find(f);
  if (it == c.case_slices.end()) return {};
  if (c.options.rcl_horizon_s <= 0) return it->second;
  // only what is known by t + horizon: slices that end by then
  const TimeUs until = c.data->faults[f].start + us(c.options.rcl_horizon_s);
  std::vector<size_t> out;
  for (size_t i : it->second)
    if (c.data->windows[i].second <= until) out.push_back(i);
  return out;
}

// Entities a case's ranking keeps, with their evidence (rcl_cases.csv quotes the labelled root cause's).
constexpr size_t kRankingKept = 10;

// Scores a ranking against the case's label (exact entity and service level).
void rank_case(const FoldContext& c, size_t f, std::vector<RankedCause> ranking, RclRun& run) {
  const FaultEvent& fe = c.data->faults[f];
  const EntityDirectory& names = c.data->entities;
  std::vector<std::string> ranked;
  for (auto& e : ranking) ranked.push_back(e.entity);
  run.cases.push_back(f);
  run.rank_exact.push_back(first_match(ranked, [&](const std::string& x) {
    return rcl_match(x, names.service(x), fe.root_cause, fe.level);
  }));
  std::vector<std::string> services;
  std::set<std::string> seen;
  for (auto& x : ranked)
    if (seen.insert(names.service(x)).second) services.push_back(names.service(x));
  const std::string label_service = names.service(fe.root_cause);
  run.rank_service.push_back(first_match(services, [&](const std::string& x) { return x == label_service; }));
  if (ranking.size() > kRankingKept) ranking.resize(kRankingKept);
  run.rankings.push_back(std::move(ranking));
}

std::vector<RankedCause> as_ranked(const std::vector<EntityScore>& scores) {
  std::vector<RankedCause> out;
  for (const auto& s : scores) {
    RankedCause r{s.entity, s.score, {}};
    if (!s.top_kpi.empty())
      r.evidence.push_back(s.top_kpi + ": " + short_number(s.value) + " in the window, " + short_number(s.normal) +
                           " normally (score " + short_number(s.score) + ")");
    out.push_back(std::move(r));
  }
  return out;
}

// Our state-aware heads (or one global head) on one representation.
MethodOutput heads_method(const FoldContext& c, const Representation& rep, bool state_aware) {
  const EvalData& d = *c.data;
  HeadInputs in{&rep.slices, &rep.ad(), &d.entities, d.metrics, d.traces};
  std::optional<ZeroLabelRanker> ranker, ad_ranker;
  if (d.features && d.deviations) {
    ranker = ZeroLabelRanker::fit(*d.features, *d.deviations, &rep.slices, *d.catalog, ranker_options(c.heads));
    in.ranker = &*ranker;
    if (d.ad_view != "all")
      in.ad_ranker = &ad_ranker.emplace(
          ZeroLabelRanker::fit(*d.features, *d.deviations, &rep.slices, *d.catalog, ranker_options(c.heads, d.ad_view)));
    in.event_names = d.event_names;
    in.kpi_slots = d.kpi_slots;
    in.kpi_z_clip = d.kpi_z_clip;
  }
  std::vector<TrainingCase> cases;
  for (size_t f : c.fold->train_cases) {
    const FaultEvent& fe = d.faults[f];
    cases.push_back({fe.start, case_slices(c, f), fe.fault_type, fe.root_cause, fe.level});
  }
  HeadOptions ho = c.heads;
  ho.state_aware = state_aware;
  FailureHeads h = FailureHeads::fit(in, c.train, cases, ho, c.seed);
  MethodOutput out;

  AnomalyTimeline t = h.detect(in, c.test);
  out.ad.emplace();
  add_points(c, t.alarms, t.scores, t.thresholds, t.states, *out.ad);
  out.ad->part_scores = t.part_scores;

  const std::vector<int> st = h.states(rep.slices);
  if (h.has_triage()) {
    out.ft.emplace();
    for (size_t f : c.fold->test_cases) {
      auto ci = case_slices(c, f);
      out.ft->cases.push_back(f);
      out.ft->truth.push_back(d.faults[f].fault_type);
      out.ft->pred.push_back(ci.empty() ? std::string("(no slice)") : h.triage(in, st, ci, d.faults[f].start).label);
    }
  }

  out.rcl.emplace();
  for (size_t f : c.fold->test_cases)
    rank_case(c, f, h.rank(in, st, case_slices(c, f), d.faults[f].start, kRankingKept), *out.rcl);

  out.info = h.info();
  out.info["fold"] = c.fold->name;
  out.info["ad_view"] = rep.ad_view.empty() ? std::string("all") : d.ad_view;
  out.info["spot_final_threshold"] = t.thresholds.empty() ? h.info().value("spot_initial_threshold", 0.0)
                                                          : t.thresholds.back();
  out.partition = Json::parse(h.partition().to_json());
  return out;
}

MethodOutput always_anomalous(const FoldContext& c) {
  MethodOutput out;
  out.ad.emplace();
  add_points(c, std::vector<bool>(c.test.size(), true), std::vector<double>(c.test.size(), 1.0), {}, {}, *out.ad);
  return out;
}

MethodOutput majority(const FoldContext& c) {
  const EvalData& d = *c.data;
  if (c.fold->train_cases.empty()) return {};
  std::vector<std::string> y;
  for (size_t f : c.fold->train_cases) y.push_back(d.faults[f].fault_type);
  MajorityTriage m;
  m.fit(y);
  MethodOutput out;
  out.ft.emplace();
  for (size_t f : c.fold->test_cases) {
    out.ft->cases.push_back(f);
    out.ft->truth.push_back(d.faults[f].fault_type);
    out.ft->pred.push_back(m.predict());
  }
  out.info = {{"fold", c.fold->name}, {"label", m.predict()}};
  return out;
}

MethodOutput spot_raw(const FoldContext& c) {
  const EvalData& d = *c.data;
  // calibrated on the same training slices as our heads' SPOT (heads.spot_calibration)
  std::vector<double> calib, test;
  // (no modality coverage check: its score reads metrics only)
  for (size_t k : spot_calibration_positions(
                      c.train, [&](size_t i) { return d.slice_faults[i].empty(); }, c.heads.spot_calibration)
                      .at)
    calib.push_back(d.raw_scores[c.train[k]]);
  for (size_t i : c.test) test.push_back(d.raw_scores[i]);
  Spot spot(c.options.spot);
  spot.fit(calib);
  std::vector<double> thr;
  auto alarms = spot.run(test, &thr);
  MethodOutput out;
  out.ad.emplace();
  add_points(c, alarms, test, thr, {}, *out.ad);
  out.info = {{"fold", c.fold->name}, {"spot_final_threshold", spot.threshold()}};
  return out;
}

// BARO (robust) or N-sigma ranking; `skip` excludes KPIs whose name contains it.
MethodOutput raw_ranking(const FoldContext& c, bool robust, const std::string& skip) {
  const EvalData& d = *c.data;
  RawScoreOptions ro = c.options.raw;
  ro.robust = robust;
  ro.reference_s = c.options.rcl_reference_s;
  ro.min_rel_scale = std::max(ro.min_rel_scale, c.options.rcl_rel_scale_floor);
  ro.skip_kpis_containing = skip;
  if (c.options.rcl_horizon_s > 0) ro.anomaly_s = c.options.rcl_horizon_s;
  MethodOutput out;
  out.rcl.emplace();
  for (size_t f : c.fold->test_cases)
    rank_case(c, f, as_ranked(rank_raw(*d.metrics, d.faults[f].start, ro, c.options.root_cause_kind)), *out.rcl);
  return out;
}

// The zero-label ranking with these signals, on every labelled test case.
MethodOutput zero_label_ranking(const FoldContext& c, const ZeroLabelOptions& zo, const Representation* rep) {
  const EvalData& d = *c.data;
  ZeroLabelRanker ranker = ZeroLabelRanker::fit(*d.features, *d.deviations, rep ? &rep->slices : nullptr, *d.catalog, zo);
  MethodOutput out;
  out.rcl.emplace();
  for (size_t f : c.fold->test_cases) {
    const auto cs = case_slices(c, f);
    std::vector<RankedCause> ranking;
    for (const auto& z : ranker.rank(cs)) {
      RankedCause rc{d.catalog->entities.name(z.entity), z.score, {}};
      if (ranking.size() < kRankingKept) rc.evidence = ranker.explain(z, cs, *d.event_names, *d.kpi_slots, d.kpi_z_clip);
      ranking.push_back(std::move(rc));
    }
    rank_case(c, f, std::move(ranking), *out.rcl);
  }
  return out;
}

// A model trained with L_entity gives every slice its entities' learned root-cause scores.
bool has_entity_scores(const Representation& rep) {
  return std::any_of(rep.slices.begin(), rep.slices.end(),
                     [](const SliceEmbedding& e) { return !e.entity_scores.empty(); });
}

// The ranker's options for an eval row: the model's (ranker_options, so an option set for the heads holds for
// every row that ranks with the same signals), ranking the baselines' entity kind.
ZeroLabelOptions row_ranker_options(const FoldContext& c) {
  ZeroLabelOptions zo = ranker_options(c.heads);
  zo.kind = c.options.root_cause_kind;
  return zo;
}

// The zero-label ranking on the trained representation with the given signals (the ablation rows).
MethodOutput trained_ranking(const FoldContext& c, bool event_signals, bool embedding_signals, bool entity_scores) {
  if (!c.data->features || !c.data->deviations) return {};
  if (entity_scores && !has_entity_scores(*c.trained)) return {};
  ZeroLabelOptions zo = row_ranker_options(c);
  zo.event_signals = event_signals;
  zo.embedding_signals = embedding_signals;
  zo.entity_scores = entity_scores;
  return zero_label_ranking(c, zo, c.trained);
}

// The same per-entity deviations without the encoder; `tail_extrapolation` false is the ablation without it.
MethodOutput event_rules(const FoldContext& c, bool span_patterns, bool call_edges, bool tail_extrapolation = true) {
  ZeroLabelOptions zo = row_ranker_options(c);
  zo.embedding_signals = zo.entity_scores = false;
  zo.span_patterns = span_patterns;
  zo.call_edges = call_edges;
  zo.tail_extrapolation = zo.tail_extrapolation && tail_extrapolation;
  return zero_label_ranking(c, zo, nullptr);
}

MethodOutput knn_raw(const FoldContext& c) {
  const EvalData& d = *c.data;
  RawScoreOptions ro = c.options.raw;
  ro.reference_s = c.options.ft_reference_s;
  auto vec_of = [&](size_t f) { return raw_case_vector(*d.metrics, d.faults[f].start, d.faults[f].end, ro); };
  std::map<std::string, size_t> layout;
  std::vector<std::map<std::string, double>> train_maps;
  for (size_t f : c.fold->train_cases) {
    train_maps.push_back(vec_of(f));
    for (auto& [k, val] : train_maps.back()) layout.emplace(k, 0);
  }
  size_t col = 0;
  for (auto& [k, v] : layout) v = col++;
  auto to_vec = [&](const std::map<std::string, double>& m) {
    std::vector<float> x(layout.size(), 0.f);
    for (auto& [k, val] : m) {
      auto it = layout.find(k);
      if (it != layout.end()) x[it->second] = static_cast<float>(val);
    }
    return x;
  };
  std::vector<std::vector<float>> x;
  std::vector<std::string> y;
  std::vector<int> cs;
  for (size_t i = 0; i < c.fold->train_cases.size(); ++i) {
    x.push_back(to_vec(train_maps[i]));
    y.push_back(d.faults[c.fold->train_cases[i]].fault_type);
    cs.push_back(0);
  }
  std::vector<TriageOptions> candidates;
  for (bool cosine : {true, false})
    for (int k : {1, 3, 5}) {
      TriageOptions to = c.heads.triage;
      to.model = "knn";
      to.state_aware = false;
      to.cosine = cosine;
      to.neighbors = k;
      candidates.push_back(to);
    }
  const TriageChoice choice = choose_triage(x, y, cs, candidates);
  const TriageOptions& best = choice.options;
  const double best_acc = choice.accuracy;
  TriageHead h(best);
  h.fit(x, y, cs);
  MethodOutput out;
  out.ft.emplace();
  for (size_t f : c.fold->test_cases) {
    out.ft->cases.push_back(f);
    out.ft->truth.push_back(d.faults[f].fault_type);
    out.ft->pred.push_back(h.predict(to_vec(vec_of(f)), 0));
  }
  out.info = {{"fold", c.fold->name}, {"neighbors", best.neighbors}, {"cosine", best.cosine},
              {"train_loo_accuracy", best_acc}};
  return out;
}

bool has_metrics(const FoldContext& c) { return c.data->metrics != nullptr; }

}  // namespace

const config::Schema<EvalOptions>& EvalOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<EvalOptions>("eval")
          .sub("spot", &EvalOptions::spot, "SPOT of the spot_raw baseline")
          .sub("raw", &EvalOptions::raw, "raw-metric baselines' scorer")
          .num("ft_reference_s", &EvalOptions::ft_reference_s, "knn_raw: reference period before the case",
               Range::above(0))
          .num("rcl_reference_s", &EvalOptions::rcl_reference_s, "BARO / N-sigma: normal period [t - this, t)",
               Range::above(0))
          .num("rcl_rel_scale_floor", &EvalOptions::rcl_rel_scale_floor,
               "BARO IQR / N-sigma std floor as a share of the normal level", Range::at_least(0))
          .num("case_lead_s", &EvalOptions::case_lead_s, "published case window starts at t - this", Range::at_least(0))
          .num("case_tail_s", &EvalOptions::case_tail_s, "published case window ends at t + this", Range::above(0))
          .num("bootstrap_samples", &EvalOptions::bootstrap_samples, "bootstrap resamples for the 95 % intervals",
               Range::closed(10, 1000000))
          .text("root_cause_kind", &EvalOptions::root_cause_kind, "entity kind the baselines rank (\"\" = all)",
                {"", "pod", "node", "service", "instance"})
          .num("rcl_horizon_s", &EvalOptions::rcl_horizon_s,
               "root cause: only slices ending by t + this (0: the whole labelled window)", Range::at_least(0));
  return s;
}

std::vector<Method> methods(bool with_untrained) {
  auto guard = [](bool (*ok)(const FoldContext&), MethodOutput (*run)(const FoldContext&)) {
    return [ok, run](const FoldContext& c) { return ok(c) ? run(c) : MethodOutput{}; };
  };
  std::vector<Method> m;
  m.push_back({"rslicer", "ours",
               "trained encoder, state-aware heads (embedding kNN + event-surprise AD with SPOT, kNN or logistic triage, "
               "zero-label event ranking or a learned root-cause head chosen on the training cases)",
               [](const FoldContext& c) { return heads_method(c, *c.trained, true); }, true, true});
  m.push_back({"rslicer_global", "ablation", "trained encoder, ONE global head (K = 1): the state-awareness ablation",
               [](const FoldContext& c) { return heads_method(c, *c.trained, false); }, true, true});
  if (with_untrained)
    m.push_back({"raw_backbone", "baseline",
                 "untrained encoder of the same size (raw backbone), same state-aware heads",
                 [](const FoldContext& c) { return heads_method(c, *c.untrained, true); }, false, true});
  auto has_events = [](const FoldContext& c) { return c.data->features != nullptr && c.data->deviations != nullptr; };
  m.push_back({"event_rules", "baseline",
               "the zero-label ranking on the direct event signals alone, no encoder: the entity's own log steps, "
               "calls into it, its ERROR lines and metrics, each calibrated on the unlabelled timeline, largest taken",
               [has_events](const FoldContext& c) { return has_events(c) ? event_rules(c, true, true) : MethodOutput{}; },
               false, false});
  m.push_back({"event_rules_no_span_patterns", "ablation", "event_rules without the log-step (span pattern) signals",
               [has_events](const FoldContext& c) { return has_events(c) ? event_rules(c, false, true) : MethodOutput{}; },
               false, false});
  m.push_back({"event_rules_no_call_edges", "ablation", "event_rules without the call-edge signals",
               [has_events](const FoldContext& c) { return has_events(c) ? event_rules(c, true, false) : MethodOutput{}; },
               false, false});
  m.push_back({"event_rules_rank_only", "ablation",
               "event_rules with the rank surprise alone (no power-law tail for the call-time signals beyond the "
               "calibration's 99.9th percentile)",
               [has_events](const FoldContext& c) {
                 return has_events(c) ? event_rules(c, true, true, false) : MethodOutput{};
               },
               false, false});
  m.push_back({"rslicer_with_embedding_signals", "ablation",
               "the zero-label ranking on the event signals plus the trained per-entity embedding deviations",
               [](const FoldContext& c) { return trained_ranking(c, true, true, false); }, true, false});
  m.push_back({"rslicer_embedding_only", "ablation",
               "the zero-label ranking on the trained per-entity embeddings alone (per modality, distance from the "
               "entity's own normal embedding, calibrated), no event signal",
               [](const FoldContext& c) { return trained_ranking(c, false, true, false); }, true, false});
  m.push_back({"rslicer_with_entity_scores", "ablation",
               "the zero-label ranking on the event signals plus the encoder's learned root-cause score per entity "
               "(its entity head, trained with L_entity on controlled injection; no ranking for a model without it)",
               [](const FoldContext& c) { return trained_ranking(c, true, false, true); }, true, false});
  m.push_back({"rslicer_entity_scores_only", "ablation",
               "the zero-label ranking on the encoder's learned root-cause score per entity alone, no event signal",
               [](const FoldContext& c) { return trained_ranking(c, false, false, true); }, true, false});
  m.push_back({"always_anomalous", "sanity", "alarm on every slice (sanity row)", always_anomalous, false, false});
  m.push_back({"majority", "baseline", "most frequent training fault type", majority, false, true});
  m.push_back({"spot_raw", "baseline",
               "SPOT on the raw-metric score: max robust |z| of any entity x KPI window mean vs the previous hour",
               guard(has_metrics, spot_raw), false, false});
  m.push_back({"baro", "baseline",
               "BARO robust scorer: max |x - median| / IQR per entity x KPI vs the previous hour (IQR floor 0.1 x "
               "median; KPIs mostly missing or zero there skipped)",
               [](const FoldContext& c) { return has_metrics(c) ? raw_ranking(c, true, "") : MethodOutput{}; }, false,
               false});
  m.push_back({"nsigma", "baseline",
               "N-sigma: max |x - mean| / std per entity x KPI vs the previous hour (std floor 0.1 x mean; KPIs "
               "mostly missing or zero there skipped)",
               [](const FoldContext& c) { return has_metrics(c) ? raw_ranking(c, false, "") : MethodOutput{}; }, false,
               false});
  m.push_back({"baro_no_latency", "baseline",
               "BARO as above on the resource KPIs only (latency KPIs excluded: spikes of up to 3.6e8 s in normal "
               "periods)",
               [](const FoldContext& c) { return has_metrics(c) ? raw_ranking(c, true, "Latency") : MethodOutput{}; },
               false, false});
  m.push_back({"knn_raw", "baseline", "kNN on raw features: robust z of every service x KPI in the case window",
               guard(has_metrics, knn_raw), false, true});
  return m;
}

std::vector<Method> select_methods(const std::vector<std::string>& names, bool with_untrained, bool zero_label) {
  std::vector<Method> all = methods(with_untrained), out;
  for (const auto& n : names) {
    bool known = std::any_of(all.begin(), all.end(), [&](const Method& m) { return m.name == n; });
    if (!known) {
      std::string list;
      for (const auto& m : all) list += (list.empty() ? "" : ", ") + m.name;
      throw InvalidInput(cat("unknown method '", n, "' (known: ", list, ")"));
    }
  }
  for (auto& m : all) {
    if (!names.empty() && std::find(names.begin(), names.end(), m.name) == names.end()) continue;
    // zero-label: ours and the raw backbone stay (their heads are fitted without labels there)
    if (zero_label && m.uses_labels && m.family != "ours" && m.family != "ablation" && m.name != "raw_backbone")
      continue;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace rslicer::eval
