#include "tune/heads.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/errors.h"
#include "tasks/evidence.h"

namespace rslicer {

namespace {

using Json = nlohmann::json;

TimeUs us(double s) { return static_cast<TimeUs>(s * kUsPerSecond); }

std::vector<float> mean_state(const std::vector<SliceEmbedding>& s, const std::vector<size_t>& idx, size_t dim) {
  std::vector<float> m(dim, 0.f);
  if (idx.empty()) return m;
  for (size_t i : idx)
    for (size_t j = 0; j < dim && j < s[i].state.size(); ++j) m[j] += s[i].state[j];
  for (float& v : m) v /= idx.size();
  return m;
}

// k-means of the slices `idx` of `s` on `vec(slice)` (the state embedding unless said)
using SliceVector = const std::vector<float>& (*)(const SliceEmbedding&);
const std::vector<float>& state_of(const SliceEmbedding& e) { return e.state; }
template <class Vec = SliceVector>
StatePartition fit_partition(const std::vector<SliceEmbedding>& s, const std::vector<size_t>& idx,
                             const PartitionOptions& o, bool state_aware, Vec vec = state_of) {
  std::vector<float> flat;
  int dim = static_cast<int>(vec(s[idx.at(0)]).size());
  for (size_t i : idx) {
    const auto& v = vec(s[i]);
    RSLICER_CHECK(static_cast<int>(v.size()) == dim, InvalidInput, "runtime states: slice ", s[i].index, " has ",
                  v.size(), " values where the first has ", dim);
    flat.insert(flat.end(), v.begin(), v.end());
  }
  PartitionOptions p = o;
  if (!state_aware) p.k = 1;
  return StatePartition::fit(flat.data(), static_cast<std::int64_t>(idx.size()), dim, p);
}

int majority_state(const std::vector<int>& states, const std::vector<size_t>& idx) {
  std::map<int, int> c;
  for (size_t i : idx) c[states[i]]++;
  int best = 0, n = -1;
  for (auto& [s, k] : c)
    if (k > n) {
      n = k;
      best = s;
    }
  return best;
}

const char* kVariantNames[] = {"unsupervised deviation", "learned listwise on (distance, evidence)",
                               "learned listwise", "learned listwise + evidence", "zero-label calibrated signals"};

constexpr double kUnbounded = std::numeric_limits<double>::infinity();  // a score without a ceiling (Spot::fit)

// The scores a resolved AD mode combines (embedding, events, entity, events+embedding, events+entity): the one
// reading of the mode names, for fitting, detecting and reporting.
struct AdParts {
  bool embedding = false, events = false, entity = false, kpi = false;  // (kpi: no mode names it)
};
AdParts ad_parts(const std::string& mode) {
  return {mode == "embedding" || mode == "events+embedding", mode.rfind("events", 0) == 0,
          mode == "entity" || mode == "events+entity"};
}
// The parts a slice's decision reads: the mode's, less those without a calibrated score (`events`, `entity`, `kpi`
// say which have one), the embedding's kNN where neither other part of the mode is left, and the most extreme KPI
// wherever it has one.
AdParts parts_in_use(const std::string& mode, bool events, bool entity, bool kpi) {
  AdParts p = ad_parts(mode);
  p.events = p.events && events;
  p.entity = p.entity && entity;
  p.embedding = p.embedding || (!p.events && !p.entity);
  p.kpi = kpi;
  return p;
}

// The scores (one per training slice) at the positions `at`: where a part's SPOT is calibrated.
std::vector<double> scores_at(const std::vector<double>& scores, const std::vector<size_t>& at) {
  std::vector<double> xs;
  xs.reserve(at.size());
  for (size_t k : at) xs.push_back(scores[k]);
  return xs;
}

// The tail p-value of `x` among calibration scores `sorted` (ascending): (1 + #{c >= x}) / (n + 1), the chance
// that a normal score is at least as large (conformal; 1 for an empty set; `in_sample`: x is one of them,
// #{c >= x} / n). Above the part's initial SPOT threshold its fitted tail says it (below 1e-30 it counts as 1e-30).
double tail_p(const std::vector<double>& sorted, const Spot& spot, double x, bool in_sample = false) {
  if (sorted.empty()) return 1.0;
  if (const auto g = spot.tail_probability(x)) return std::max(*g, 1e-30);
  const auto ge = static_cast<double>(sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), x));
  const auto n = static_cast<double>(sorted.size());
  return in_sample ? std::max(ge, 1.0) / n : (1 + ge) / (n + 1);
}

// heads.ad_combine=evidence: a slice's evidence, -sum log p over the parts (embedding, events, entity, kpi), each
// part's p its tail_p among its calibration scores `tables` (a part without any reads p = 1) and its fitted SPOT
// tail `spots`; the parts' p go to *p when given.
double combined_evidence(const std::array<std::vector<double>, 4>& tables, const std::array<const Spot*, 4>& spots,
                         const std::array<double, 4>& x, bool in_sample, std::array<double, 4>* p = nullptr) {
  double e = 0;
  for (int k = 0; k < 4; ++k) {
    const double pk = tail_p(tables[k], *spots[k], x[k], in_sample);
    if (p) (*p)[k] = pk;
    e -= std::log(pk);
  }
  return e;
}

}  // namespace

double sign_test_p(int wins, int losses) {
  RSLICER_CHECK(wins >= 0 && losses >= 0, InvalidInput, "sign test: negative counts ", wins, ", ", losses);
  const int n = wins + losses;
  if (n == 0) return 1.0;
  // P(X >= wins) for X ~ Binomial(n, 1/2), summed in log space so that large n does not overflow
  double p = 0;
  for (int k = wins; k <= n; ++k)
    p += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) - n * std::log(2.0));
  return std::min(1.0, p);
}

std::vector<std::string> ad_part_names(std::uint8_t parts) {
  std::vector<std::string> out;
  if (parts & kAdEmbedding) out.push_back("state embedding");
  if (parts & kAdEvents) out.push_back("event signals");
  if (parts & kAdEntity) out.push_back("entity head");
  if (parts & kAdKpi) out.push_back("most extreme KPI");
  return out;
}

std::vector<size_t> slices_within(const std::vector<SliceEmbedding>& s, TimeUs a, TimeUs b) {
  std::vector<size_t> out;
  auto it = std::lower_bound(s.begin(), s.end(), a, [](const SliceEmbedding& e, TimeUs t) { return e.start < t; });
  for (; it != s.end() && it->start < b; ++it)
    if (it->end <= b) out.push_back(static_cast<size_t>(it - s.begin()));
  return out;
}

std::string EntityDirectory::service(const std::string& entity) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == entity) return i < services.size() && !services[i].empty() ? services[i] : entity;
  return entity;
}

const config::Schema<HeadOptions>& HeadOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<HeadOptions>("heads")
          .flag("state_aware", &HeadOptions::state_aware, "heads per runtime state (false: one global state)")
          .text("ad_score", &HeadOptions::ad_score,
                "anomaly score: embedding (kNN of the state), events (most surprising entity), entity (the encoder's "
                "entity head: -log P(no root cause); needs a model trained with simulator sources), events+embedding "
                "or events+entity (either alarms), both (events+entity where the model has the head, else "
                "events+embedding), auto (with labelled training cases: the one of both, events and the learned score "
                "with the best point-wise F1 on the training slices; else both)",
                {"embedding", "events", "entity", "events+embedding", "events+entity", "both", "auto"})
          .text("ad_layer", &HeadOptions::ad_layer,
                "what the AD kNN and the AD view's runtime states read: encodings (the modalities' encodings under "
                "the projections the contrastive losses align; the state where the encoder has none) or state (the "
                "fused state embedding)",
                {"encodings", "state"})
          .sub("partition", &HeadOptions::partition, "k-means partition of runtime states")
          .sub("ad", &HeadOptions::ad, "kNN anomaly head")
          .sub("spot", &HeadOptions::spot, "SPOT threshold of the anomaly score")
          .text("spot_calibration", &HeadOptions::spot_calibration,
                "the training slices each SPOT threshold is calibrated on: normal (those outside the labelled faults; "
                "all when fewer than 30 are or when they under-represent a modality the AD view reads), or all "
                "(label-free); under either, where the normal slices under-represent such a modality, the default AD "
                "score leaves out the kNN (its references are the normal slices)",
                {"all", "normal"})
          .sub("triage", &HeadOptions::triage, "triage head (kNN or logistic regression)")
          .sub("rcl", &HeadOptions::rcl, "root cause: embedding deviation per entity")
          .sub("rcl_learned", &HeadOptions::rcl_learned, "root cause: listwise linear head")
          .sub("raw", &HeadOptions::raw, "root cause: the metric evidence's robust scorer")
          .num("ft_reference_s", &HeadOptions::ft_reference_s,
               "triage: the case vector subtracts the mean of [t - this, t - 60 s)", Range::at_least(60))
          .num("rcl_reference_s", &HeadOptions::rcl_reference_s,
               "root cause: entity profiles from [t - this, t - 60 s)", Range::at_least(60))
          .num("rcl_rel_scale_floor", &HeadOptions::rcl_rel_scale_floor,
               "metric evidence: IQR floor as a share of the normal level", Range::at_least(0))
          .flag("rcl_metric_evidence", &HeadOptions::rcl_metric_evidence,
                "root cause uses each entity's robust metric deviation")
          .flag("rcl_trace_evidence", &HeadOptions::rcl_trace_evidence,
                "root cause uses each entity's span and log evidence")
          .flag("rcl_embedding_signals", &HeadOptions::rcl_embedding_signals,
                "the zero-label root-cause ranking also uses per-modality entity embedding deviations")
          .flag("rcl_entity_scores", &HeadOptions::rcl_entity_scores,
                "the zero-label root-cause ranking also uses the encoder's learned root-cause score per entity")
          .flag("event_tail", &HeadOptions::event_tail,
                "the zero-label root-cause ranking scores call times beyond its calibration's "
                "99.9th percentile on a power-law tail fitted below it (false: their rank alone, which saturates "
                "where the data's other faults sit)")
          .flag("event_kpi_family", &HeadOptions::event_kpi_family,
                "the zero-label ranking (unless rcl_kpi_min_p) and the event AD score correct the best KPI's "
                "surprise for the number of KPIs that move independently on the data (false, the default: for the "
                "number of KPI slots, 24)")
          .flag("rcl_shared_kpis", &HeadOptions::rcl_shared_kpis,
                "the zero-label root-cause ranking also counts KPIs whose deviations the entities of a slice mostly "
                "share exactly (a node's KPI joined to each of its pods); false: those tell the node's state, not "
                "which pod is at fault, and stay in the AD score and the triage pattern only")
          .flag("rcl_kpi_min_p", &HeadOptions::rcl_kpi_min_p,
                "the zero-label root-cause ranking scores the KPI family by how often a calibration row's best KPI "
                "is at least as surprising (KPIs that move together count once); false (the default: it lost on "
                "TrainTicket): by the best KPI's surprise less the correction above, which the event AD score "
                "always uses")
          .text("event_span_errors", &HeadOptions::event_span_errors,
                "the event signals (root-cause ranking, AD score, triage pattern) include the largest rise of an "
                "operation's failed-span share (span status against its profile): on, off, or auto (where the data "
                "carry no metrics)",
                {"auto", "on", "off"})
          .text("event_self_time", &HeadOptions::event_self_time,
                "the event signals (root-cause ranking, AD score, triage pattern) include the self time of an "
                "entity's spans (outside their child spans) against its profile: on, off, or auto (where the data "
                "carry no metrics)",
                {"auto", "on", "off"})
          .flag("triage_directions", &HeadOptions::triage_directions,
                "the \"events\" triage vectors carry the direction of the top entity's KPIs (the sign of their "
                "robust z), not only their surprise")
          .flag("ad_event_tail", &HeadOptions::ad_event_tail,
                "the event AD score uses that tail too (off: its rank surprise alone)")
          .flag("ad_kpi", &HeadOptions::ad_kpi,
                "a slice also alarms when its most extreme KPI (the largest robust z of any entity's KPI) passes "
                "its own SPOT threshold, calibrated on the normal training slices, whatever ad_score")
          .flag("ad_split_risk", &HeadOptions::ad_split_risk,
                "the AD parts that can alarm share SPOT's risk q (each q / their number), so that q bounds the "
                "slice's false alarm rate; false: each part alarms at q")
          .text("ad_combine", &HeadOptions::ad_combine,
                "how the AD parts decide a slice where several do: evidence (their tail p-values among their "
                "calibration scores, by the fitted tail beyond SPOT's initial threshold; -sum log p against one "
                "SPOT threshold at q) or any (each against its own SPOT threshold at its share of the risk)",
                {"any", "evidence"})
          .num("case_tail_s", &HeadOptions::case_tail_s, "evidence window [t, t + this) of a case", Range::above(0))
          .num("rcl_switch_p", &HeadOptions::rcl_switch_p,
               "root cause: a label-using head replaces the parameter-free ranking only if it wins the paired "
               "leave-one-case-out comparison on the training cases with a one-sided sign test p <= this (1: the best "
               "leave-one-out AC@1 wins)",
               Range::closed(0, 1));
  return s;
}

// ---------------------------------------------------------------- fit

SpotCalibration spot_calibration_positions(const std::vector<size_t>& train, const std::function<bool(size_t)>& normal,
                                           const std::string& how,
                                           const std::function<std::uint8_t(size_t)>& modalities) {
  RSLICER_CHECK(how == "all" || how == "normal", InvalidInput, "heads.spot_calibration: '", how,
                "' is neither 'all' nor 'normal'");
  SpotCalibration c;
  auto all = [&](std::string why) {
    c.at.resize(train.size());
    for (size_t k = 0; k < train.size(); ++k) c.at[k] = k;
    c.normal = false;
    c.note = std::move(why);
    return c;
  };
  std::vector<size_t> normal_at;
  for (size_t k = 0; k < train.size(); ++k)
    if (normal(train[k])) normal_at.push_back(k);
  // whether the normal slices under-represent a modality: checked whatever `how`, since they are also the kNN's
  // references
  std::string lacking, lacking_note;
  if (modalities && normal_at.size() >= kMinNormalCalibration) {
    static const char* const kNames[] = {"metrics", "traces", "logs"};
    for (int m = 0; m < 3 && lacking.empty(); ++m) {
      size_t in_all = 0, in_normal = 0;
      for (size_t i : train) in_all += (modalities(i) >> m) & 1u;
      for (size_t k : normal_at) in_normal += (modalities(train[k]) >> m) & 1u;
      const double share_all = static_cast<double>(in_all) / train.size();
      const double share_normal = static_cast<double>(in_normal) / normal_at.size();
      if (share_normal < kMinCalibrationCoverage * share_all) {
        lacking = kNames[m];
        lacking_note = "the normal training slices under-represent " + lacking + ", " +
                       short_number(100 * share_normal) + " % of them carry it against " +
                       short_number(100 * share_all) + " % of all training slices";
      }
    }
  }
  c.lacking = lacking;
  if (how == "all") return all("");
  if (normal_at.size() < kMinNormalCalibration)
    return all(std::to_string(normal_at.size()) + " normal training slices, fewer than " +
               std::to_string(kMinNormalCalibration));
  if (!lacking.empty()) return all(lacking_note);
  c.at = std::move(normal_at);
  return c;
}

FailureHeads FailureHeads::fit(const HeadInputs& in, const std::vector<size_t>& train,
                               const std::vector<TrainingCase>& cases, const HeadOptions& options,
                               std::uint64_t seed) {
  HeadOptions::schema().validate(options);
  RSLICER_CHECK(in.slices && in.ad_view && in.entities, InvalidInput, "heads: missing embeddings or entity names");
  RSLICER_CHECK(!train.empty(), InvalidInput, "heads: no training slices");
  const auto& main = *in.slices;
  const auto& adv = *in.ad_view;
  RSLICER_CHECK(main.size() == adv.size(), InvalidInput, "heads: the AD view has ", adv.size(), " slices, the main ",
                main.size());
  FailureHeads h;
  h.options_ = options;
  // "auto" as the training data resolved it: detect and serve rank with the same signals whatever their data's
  // first slices hold (a stream's KPIs have no baseline yet)
  if (in.ranker) {
    auto resolve = [](std::string& mode, bool on) {
      if (mode == "auto") mode = on ? "on" : "off";
    };
    resolve(h.options_.event_span_errors, in.ranker->span_errors());
    resolve(h.options_.event_self_time, in.ranker->self_time());
  }
  const bool state_aware = options.state_aware;
  PartitionOptions po = options.partition;
  po.seed = seed;

  // ---- AD: partition of the AD view, kNN references (normal training slices), SPOT calibration
  auto ad_vec = [&h](const SliceEmbedding& e) -> const std::vector<float>& { return h.ad_vector(e); };
  h.ad_partition_ = fit_partition(adv, train, po, state_aware, ad_vec);
  std::vector<int> st_ad(adv.size());
  for (size_t i = 0; i < adv.size(); ++i) st_ad[i] = h.ad_partition_.assign(ad_vec(adv[i]));
  std::vector<bool> labelled_faulty(main.size(), false);
  for (const auto& c : cases)
    for (size_t i : c.slices) labelled_faulty[i] = true;
  // the normal training slices: the kNN's references, and what SPOT is calibrated on where they suffice
  auto normal_slice = [&](size_t i) { return !labelled_faulty[i] && adv[i].faults.empty(); };
  std::vector<float> refs;
  std::vector<TimeUs> times;
  std::vector<int> rstates;
  for (size_t i : train)
    if (normal_slice(i)) {
      refs.insert(refs.end(), ad_vec(adv[i]).begin(), ad_vec(adv[i]).end());
      times.push_back(adv[i].start);
      rstates.push_back(st_ad[i]);
    }
  AnomalyOptions ao = options.ad;
  ao.state_aware = state_aware;
  h.ad_ = KnnAnomalyHead(ao);
  h.ad_.fit(refs, static_cast<int>(ad_vec(adv[train[0]]).size()), times, rstates);
  const SpotCalibration calibration = spot_calibration_positions(
      train, normal_slice, options.spot_calibration, [&](size_t i) { return adv[i].mask.bits; });
  const std::vector<size_t>& calib_at = calibration.at;
  // SPOT fitted on the scores (one per training slice) at the positions `at` (default: calib_at)
  // (`ceiling`: the largest score the part can reach, Spot::fit)
  auto calibrated = [&](const std::vector<double>& scores, const SpotOptions& so,
                        const std::vector<size_t>* at = nullptr, double ceiling = kUnbounded) {
    Spot s(so);
    s.fit(scores_at(scores, at ? *at : calib_at), ceiling);
    return s;
  };
  std::vector<double> calib;
  for (size_t i : train)
    calib.push_back(h.ad_.score(ad_vec(adv[i]).data(), st_ad[i], adv[i].start, /*calibrating=*/true));
  for (double& x : calib)
    if (!std::isfinite(x)) x = 0;
  h.spot_ = calibrated(calib, options.spot);
  const ZeroLabelRanker* ad_ranker = in.ad_ranker ? in.ad_ranker : in.ranker;
  // the learned score: the entity head's where the AD view has it (a model trained with L_entity; a slice without
  // entities has no scores either way)
  bool has_entity = false;
  for (size_t i : train) has_entity = has_entity || !adv[i].entity_scores.empty();
  RSLICER_CHECK(has_entity || (options.ad_score != "entity" && options.ad_score != "events+entity"), InvalidInput,
                "heads.ad_score=", options.ad_score, " needs a model with an entity head (train with simulator sources, "
                "docs/encoder.md); this model has none");
  std::vector<double> ent;
  if (has_entity) {
    for (size_t i : train) ent.push_back(entity_ad_score(adv[i]));
    h.entity_spot_ = calibrated(ent, options.spot);
    h.entity_ad_ = true;
  }
  const std::string learned = has_entity ? "entity" : "embedding";
  std::vector<double> ev;
  double ev_ceiling = kUnbounded;
  if (ad_ranker && options.ad_score != "embedding" && options.ad_score != "entity") {
    for (size_t i : train) {
      auto r = ad_ranker->rank({i}, options.ad_event_tail, /*alarm=*/true);
      ev.push_back(r.empty() ? 0.0 : r[0].score);
    }
    ev_ceiling = ad_ranker->score_ceiling(options.ad_event_tail, /*alarm=*/true);
    h.event_spot_ = calibrated(ev, options.spot, nullptr, ev_ceiling);
    h.event_ad_ = true;
  }
  // the most extreme KPI: its score reads metrics only, which every normal slice carries, so it is calibrated on
  // them whatever the other scores' modality coverage. Where the KPIs of normal time reach the tokens' clip (as
  // TrainTicket's do in 98 % of its slices) the threshold sits at the clip: the part could never alarm, and it is
  // left out (nor does it take a share of the risk below)
  std::vector<double> kp;
  std::vector<size_t> kp_at;
  std::string kpi_note;
  const double kpi_ceiling = in.kpi_z_clip > 0 ? in.kpi_z_clip : kUnbounded;
  if (ad_ranker && options.ad_kpi) {
    for (size_t i : train) kp.push_back(ad_ranker->kpi_peak(i));
    kp_at = spot_calibration_positions(train, normal_slice, options.spot_calibration).at;
    h.kpi_spot_ = calibrated(kp, options.spot, &kp_at, kpi_ceiling);
    h.kpi_ad_ = true;
    if (std::all_of(kp_at.begin(), kp_at.end(), [&](size_t k) { return !(kp[k] > 0); })) {
      // data without metrics (or none with a baseline): the part could only ever read 0
      kpi_note = "no most-extreme-KPI part: no calibration slice holds a KPI deviation (no metrics?)";
      h.kpi_ad_ = false;
    } else if (in.kpi_z_clip > 0 && h.kpi_spot_.threshold() >= in.kpi_z_clip - 1e-6) {
      const auto at_clip = std::count_if(kp_at.begin(), kp_at.end(),
                                         [&](size_t k) { return kp[k] >= in.kpi_z_clip - 1e-6; });
      kpi_note = "no most-extreme-KPI part: some KPI reaches the tokens' clip in " +
                 short_number(100.0 * static_cast<double>(at_clip) / static_cast<double>(kp_at.size())) +
                 " % of the calibration slices, so its threshold sits at the clip";
      h.kpi_ad_ = false;
    }
  }
  // without the event score (no ranker) each pair keeps its learned part. The kNN's normal references are the
  // normal training slices: where they under-represent a modality the score reads, the kNN measures its mere
  // presence (2023-01-30: traces in normal hours), and "both" keeps the event score alone
  const bool knn_blind = learned == "embedding" && !calibration.lacking.empty();
  const std::string both = h.event_ad_ ? (knn_blind ? "events" : "events+" + learned) : learned;
  if (options.ad_score == "embedding" || options.ad_score == "entity") h.ad_mode_ = options.ad_score;
  else if (options.ad_score == "events") h.ad_mode_ = h.event_ad_ ? "events" : "embedding";
  else if (options.ad_score == "events+embedding") h.ad_mode_ = h.event_ad_ ? "events+embedding" : "embedding";
  else if (options.ad_score == "events+entity") h.ad_mode_ = h.event_ad_ ? "events+entity" : "entity";
  else h.ad_mode_ = both;
  // The SPOT thresholds a mode decides with: the parts it reads (parts_in_use) share the risk, each alarming at
  // q / their number, so that q bounds the false alarm rate of the slice's decision, not of each part
  // (docs/results.md, "The most extreme KPI alarms on its own"); a part alone keeps q.
  struct RiskSpots {
    Spot embedding, events, entity, kpi;
    double q;
  };
  auto risk_spots = [&](const std::string& mode) {
    RiskSpots r{h.spot_, h.event_spot_, h.entity_spot_, h.kpi_spot_, options.spot.q};
    const AdParts p = parts_in_use(mode, h.event_ad_, h.entity_ad_, h.kpi_ad_);
    const int m = p.embedding + p.events + p.entity + p.kpi;
    if (!options.ad_split_risk || m <= 1) return r;
    SpotOptions so = options.spot;
    so.q /= m;
    r.q = so.q;
    if (p.embedding) r.embedding = calibrated(calib, so);
    if (p.events) r.events = calibrated(ev, so, nullptr, ev_ceiling);
    if (p.entity) r.entity = calibrated(ent, so);
    if (p.kpi) r.kpi = calibrated(kp, so, &kp_at, kpi_ceiling);
    return r;
  };
  Json ad_f1s;  // "auto": the training point F1 of each candidate
  if (options.ad_score == "auto" && h.event_ad_ && !cases.empty()) {
    // the mode whose alarms on the training slices (each part's SPOT, at the mode's share of the risk, run over the
    // scores it was fitted on; the most extreme KPI's part with every mode that has it, as the slices are decided)
    // match the labelled fault slices best, point-wise; ties keep the earlier of both, events, the learned score
    Json f1s = Json::object();
    double best = -1;
    for (const std::string& m : {both, std::string("events"), learned}) {
      const AdParts p = parts_in_use(m, h.event_ad_, h.entity_ad_, h.kpi_ad_);
      RiskSpots rs = risk_spots(m);
      const std::vector<bool> none(train.size(), false);
      const std::vector<bool> emb_alarm = p.embedding ? rs.embedding.run(calib) : none,
                              ev_alarm = p.events ? rs.events.run(ev) : none,
                              ent_alarm = p.entity ? rs.entity.run(ent) : none,
                              kpi_alarm = p.kpi ? rs.kpi.run(kp) : none;
      double tp = 0, alarms = 0, faulty = 0;
      for (size_t k = 0; k < train.size(); ++k) {
        const bool a = emb_alarm[k] || ev_alarm[k] || ent_alarm[k] || kpi_alarm[k];
        const bool y = labelled_faulty[train[k]];
        tp += a && y;
        alarms += a;
        faulty += y;
      }
      const double f1 = alarms + faulty > 0 ? 2 * tp / (alarms + faulty) : 0.0;
      f1s[m] = f1;
      if (f1 > best + 1e-12) {
        best = f1;
        h.ad_mode_ = m;
      }
    }
    ad_f1s = f1s;
  }
  RiskSpots chosen = risk_spots(h.ad_mode_);
  h.spot_ = chosen.embedding;
  h.event_spot_ = chosen.events;
  h.entity_spot_ = chosen.entity;
  h.kpi_spot_ = chosen.kpi;
  const double part_q = chosen.q;
  // a bounded part whose fitted threshold lay beyond what it can reach alarms above its largest calibration score
  const AdParts in_use = parts_in_use(h.ad_mode_, h.event_ad_, h.entity_ad_, h.kpi_ad_);
  if (options.ad_combine == "evidence" && in_use.embedding + in_use.events + in_use.entity + in_use.kpi > 1) {
    // each part's calibration scores (where its SPOT was calibrated), and the calibration slices' own evidence
    auto table = [](const std::vector<double>& scores, const std::vector<size_t>& at) {
      std::vector<double> xs = scores_at(scores, at);
      std::sort(xs.begin(), xs.end());
      return xs;
    };
    if (in_use.embedding) h.part_calibration_[0] = table(calib, calib_at);
    if (in_use.events) h.part_calibration_[1] = table(ev, calib_at);
    if (in_use.entity) h.part_calibration_[2] = table(ent, calib_at);
    if (in_use.kpi) h.part_calibration_[3] = table(kp, kp_at);
    const std::array<const Spot*, 4> spots = {&h.spot_, &h.event_spot_, &h.entity_spot_, &h.kpi_spot_};
    std::vector<double> s;
    for (size_t k : calib_at)
      s.push_back(combined_evidence(h.part_calibration_, spots,
                                    {in_use.embedding ? calib[k] : 0.0, in_use.events ? ev[k] : 0.0,
                                     in_use.entity ? ent[k] : 0.0, in_use.kpi ? kp[k] : 0.0},
                                    /*in_sample=*/true));
    h.evidence_spot_ = Spot(options.spot);
    h.evidence_spot_.fit(s);
  }
  std::string event_note;
  if (in_use.events && h.event_spot_.capped())
    event_note = "the event score's fitted threshold lay beyond the largest score a slice can reach (" +
                 short_number(ev_ceiling) + "): it alarms above the largest calibration score (" +
                 short_number(h.event_spot_.threshold()) + ")";
  if (in_use.kpi && h.kpi_spot_.capped())
    kpi_note =
        "the most extreme KPI's fitted threshold lay at or beyond the tokens' clip: it alarms above the "
        "largest calibration value (" +
        short_number(h.kpi_spot_.threshold()) + ")";

  // ---- the main partition (triage and root cause)
  h.partition_ = fit_partition(main, train, po, state_aware);
  std::vector<int> st(main.size());
  for (size_t i = 0; i < main.size(); ++i) st[i] = h.partition_.assign(main[i].state);

  // ---- triage: case vector kind and k by leave-one-case-out on the training cases
  std::vector<const TrainingCase*> ft_cases;
  for (const auto& c : cases)
    if (!c.slices.empty() && !c.fault_type.empty()) ft_cases.push_back(&c);
  std::string best_kind = "delta";
  TriageChoice best{options.triage, -1};
  best.options.state_aware = state_aware;
  std::vector<std::string> y;
  std::vector<int> cs;
  for (const auto* c : ft_cases) {
    y.push_back(c->fault_type);
    cs.push_back(majority_state(st, c->slices));
  }
  auto vectors = [&](const std::string& kind) {
    std::vector<std::vector<float>> x;
    for (const auto* c : ft_cases) x.push_back(h.case_vector(in, c->slices, c->start, kind));
    return x;
  };
  // candidates: the kNN with k = 1, 3, 5, then the logistic regression with L2 = 0.001, 0.01, 0.1
  std::vector<TriageOptions> models;
  for (int k : {1, 3, 5}) {
    TriageOptions to = best.options;
    to.model = "knn";
    to.neighbors = k;
    models.push_back(to);
  }
  for (double l2 : {0.001, 0.01, 0.1}) {
    TriageOptions to = best.options;
    to.model = "logistic";
    to.l2 = l2;
    models.push_back(to);
  }
  std::vector<std::string> kinds = {"delta", "mean", "both"};
  if (in.ranker) kinds.insert(kinds.end(), {"events", "events+top3"});  // last: the embedding kinds win ties
  for (const std::string& kind : kinds) {
    const TriageChoice c = choose_triage(vectors(kind), y, cs, models);
    if (c.accuracy > best.accuracy + 1e-12) {
      best = c;
      best_kind = kind;
    }
  }
  if (!ft_cases.empty()) {
    const auto x = vectors(best_kind);
    h.triage_ = TriageHead(best.options);
    h.triage_.fit(x, y, cs);
    h.triage_kind_ = best_kind;
    h.triage_fitted_ = true;
  }

  // ---- root cause: the variant by leave-one-case-out AC@1 on the training cases (ties keep fewer parameters)
  h.rcl_metric_ = in.metrics && options.rcl_metric_evidence;
  h.rcl_trace_ = in.traces && !in.traces->empty() && options.rcl_trace_evidence;
  h.rcl_extra_ = (h.rcl_metric_ ? 2 : 0) + (h.rcl_trace_ ? kTraceFeatureCount : 0);
  std::vector<std::vector<EntityFeatures>> tr_feats;
  std::vector<int> tr_target;
  for (const auto& c : cases) {
    tr_feats.push_back(h.case_features(in, st, c.slices, c.start, nullptr));
    int t = -1;
    for (size_t k = 0; k < tr_feats.back().size(); ++k)
      if (rcl_match(tr_feats.back()[k].entity, in.entities->service(tr_feats.back()[k].entity), c.root_cause, c.level))
        t = static_cast<int>(k);
    tr_target.push_back(t);
  }
  std::vector<int> variants = {kUnsupervised, kLearned};
  if (h.rcl_extra_) variants = {kUnsupervised, kCompactEvidence, kLearned, kLearnedEvidence};
  if (in.ranker) variants.insert(variants.begin(), kZeroLabel);  // no parameter at all: first on ties
  // hit[var][case]: the variant's leave-one-out top-1 is the case's root cause
  std::vector<std::vector<char>> hit(5);
  int loo_n = 0;
  for (size_t c = 0; c < tr_feats.size(); ++c) {
    if (tr_target[c] < 0) continue;
    ++loo_n;
    std::vector<char> top1(5, 0);
    const std::string& truth = tr_feats[c][tr_target[c]].entity;
    auto u = h.rank_features(tr_feats[c], kUnsupervised);
    top1[kUnsupervised] = !u.empty() && u[0].entity == truth;
    if (in.ranker) {
      auto z = in.ranker->rank(cases[c].slices);
      top1[kZeroLabel] = !z.empty() && in.entities->names.at(z[0].entity) == truth;
    }
    for (int var : variants) {
      if (var == kUnsupervised || var == kZeroLabel) continue;
      std::vector<std::vector<EntityFeatures>> xs;
      std::vector<int> ts;
      for (size_t d = 0; d < tr_feats.size(); ++d)
        if (d != c) {
          xs.push_back(h.project(tr_feats[d], var));
          ts.push_back(tr_target[d]);
        }
      LearnedRcaHead lh(options.rcl_learned);
      lh.fit(xs, ts);
      auto l = lh.rank(h.project(tr_feats[c], var));
      top1[var] = !l.empty() && l[0].entity == truth;
    }
    for (int var = 0; var < 5; ++var) hit[var].push_back(top1[var]);
  }
  auto loo_hits = [&](int var) { return static_cast<int>(std::count(hit[var].begin(), hit[var].end(), 1)); };
  // A label-using head replaces the parameter-free ranking (the first variant) when it has more leave-one-out hits
  // and, with rcl_switch_p < 1, also wins a paired one-sided sign test over the training cases (wins = cases only
  // the head gets right). The default 1 keeps the best-LOO rule; the p values are reported either way.
  const int base = variants.front();
  h.rcl_variant_ = base;  // also without enough labelled cases
  Json switch_p = Json::object();
  if (loo_n >= 4)
    for (int var : variants) {
      if (var == base) continue;
      int wins = 0, losses = 0;
      for (int c = 0; c < loo_n; ++c) {
        wins += hit[var][c] && !hit[base][c];
        losses += !hit[var][c] && hit[base][c];
      }
      const double p = sign_test_p(wins, losses);
      switch_p[kVariantNames[var]] = p;
      const bool clear = options.rcl_switch_p >= 1 || p <= options.rcl_switch_p;
      if (clear && loo_hits(var) > loo_hits(h.rcl_variant_)) h.rcl_variant_ = var;
    }
  h.rcl_head_ = LearnedRcaHead(options.rcl_learned);
  if (h.rcl_variant_ != kUnsupervised && h.rcl_variant_ != kZeroLabel) {
    std::vector<std::vector<EntityFeatures>> xs;
    for (auto& fs : tr_feats) xs.push_back(h.project(fs, h.rcl_variant_));
    h.rcl_head_.fit(xs, tr_target);
  }

  h.info_ = {{"ad_score", h.ad_mode_},
             {"ad_states", h.ad_partition_.num_states()},
             {"ad_silhouette", h.ad_partition_.silhouette()},
             {"spot_initial_threshold", h.spot_.threshold()},
             {"spot_calibration_slices", calib_at.size()},
             {"spot_calibration", calibration.normal ? "normal" : "all"},
             {"spot_calibration_note", calibration.note},
             {"ad_score_note", knn_blind && h.event_ad_ && (options.ad_score == "both" || options.ad_score == "auto")
                                   ? "the kNN's normal references under-represent " + calibration.lacking +
                                         "; both = the event score alone"
                                   : std::string()},
             {"event_spot_threshold", h.event_ad_ ? h.event_spot_.threshold() : 0.0},
             {"entity_spot_threshold", h.entity_ad_ ? h.entity_spot_.threshold() : 0.0},
             {"kpi_spot_threshold", h.kpi_ad_ ? h.kpi_spot_.threshold() : 0.0},
             {"kpi_note", kpi_note},
             {"event_note", event_note},
             {"ad_part_q", part_q},
             {"normal_references", times.size()},
             {"states", h.partition_.num_states()},
             {"silhouette", h.partition_.silhouette()},
             {"ft_features", best_kind},
             {"ft_model", best.options.model},
             {"ft_neighbors", best.options.neighbors},
             {"ft_l2", best.options.l2},
             {"ft_train_loo_accuracy", best.accuracy},
             {"ft_fitted", h.triage_fitted_},
             {"rcl_head", kVariantNames[h.rcl_variant_]},
             {"rcl_train_loo_cases", loo_n},
             {"rcl_switch_p", options.rcl_switch_p},
             {"rcl_train_loo_sign_test_p", switch_p}};
  for (int var : variants)
    h.info_["rcl_train_loo_ac1"][kVariantNames[var]] = loo_n ? static_cast<double>(loo_hits(var)) / loo_n : 0.0;
  if (!ad_f1s.is_null()) h.info_["ad_score_train_point_f1"] = ad_f1s;
  // the initial SPOT threshold of each score the mode combines, in the mode's order
  const AdParts used = ad_parts(h.ad_mode_);
  Json thresholds = Json::array();
  if (used.events) thresholds.push_back({{"score", "events"}, {"threshold", h.event_spot_.threshold()}});
  if (used.embedding) thresholds.push_back({{"score", "embedding"}, {"threshold", h.spot_.threshold()}});
  if (used.entity) thresholds.push_back({{"score", "entity"}, {"threshold", h.entity_spot_.threshold()}});
  if (h.kpi_ad_) thresholds.push_back({{"score", "kpi"}, {"threshold", h.kpi_spot_.threshold()}});
  const bool evidence = h.combines_evidence();
  if (evidence) thresholds.push_back({{"score", "evidence"}, {"threshold", h.evidence_spot_.threshold()}});
  h.info_["ad_thresholds"] = thresholds;
  h.info_["ad_combine"] = evidence ? "evidence" : "any";
  // what the kNN read: the option, or the state where it asked for encodings the encoder does not give
  h.info_["ad_layer"] = &ad_vec(adv[train.at(0)]) == &adv[train.at(0)].encodings ? "encodings" : "state";
  return h;
}

// ---------------------------------------------------------------- apply

bool FailureHeads::combines_evidence() const {
  return std::any_of(part_calibration_.begin(), part_calibration_.end(),
                     [](const std::vector<double>& t) { return !t.empty(); });
}

std::vector<int> FailureHeads::states(const std::vector<SliceEmbedding>& slices) const {
  std::vector<int> out(slices.size());
  for (size_t i = 0; i < slices.size(); ++i) out[i] = partition_.assign(slices[i].state);
  return out;
}

ZeroLabelOptions ranker_options(const HeadOptions& options, const std::string& ad_view) {
  ZeroLabelOptions zo;
  zo.kind = options.rcl.kind;
  zo.embedding_signals = options.rcl_embedding_signals && ad_view == "all";
  zo.entity_scores = options.rcl_entity_scores && ad_view == "all";
  zo.tail_extrapolation = options.event_tail;
  zo.effective_family = options.event_kpi_family;
  zo.family_min_p = options.rcl_kpi_min_p;
  zo.shared_kpis_out = !options.rcl_shared_kpis;
  zo.span_errors = ad_view == "metrics" ? "off" : options.event_span_errors;
  zo.self_time = ad_view == "metrics" ? "off" : options.event_self_time;
  if (ad_view != "all") zo.span_patterns = zo.log_lines = false;
  if (ad_view == "metrics") zo.call_edges = false;
  return zo;
}

const std::vector<float>& FailureHeads::fitted_ad_vector(const SliceEmbedding& e) const {
  const std::vector<float>& v = ad_vector(e);
  RSLICER_CHECK(static_cast<int>(v.size()) == ad_.dim(), ModelError, "AD: slice ", e.index, " has ", v.size(),
                " values where the fitted kNN reads ", ad_.dim(), " (heads.ad_layer \"", options_.ad_layer,
                "\"): embeddings of another encoder than the heads were fitted on");
  return v;
}

std::vector<int> FailureHeads::ad_states(const std::vector<SliceEmbedding>& ad_view) const {
  std::vector<int> out(ad_view.size());
  for (size_t i = 0; i < ad_view.size(); ++i) out[i] = ad_partition_.assign(fitted_ad_vector(ad_view[i]));
  return out;
}

double entity_ad_score(const SliceEmbedding& e) {
  if (e.entity_scores.empty()) return 0.0;
  double m = 0;  // the "none" logit
  for (float x : e.entity_scores) m = std::max(m, static_cast<double>(x));
  double sum = std::exp(-m);
  for (float x : e.entity_scores) sum += std::exp(static_cast<double>(x) - m);
  return m + std::log(sum);
}

Json FailureHeads::AdStream::knn_to_json() const {
  Json p = Json::array();
  for (const auto& x : pending)
    p.push_back({{"state", floats_to_json(x.state)}, {"ad_state", x.ad_state}, {"start", x.start}});
  return {{"added", knn.added_to_json()}, {"pending", p}};
}

bool FailureHeads::AdStream::knn_from_json(const Json& j) {
  try {
    const Json& added = j.at("added");
    if (added.at("fitted").get<std::string>() != std::to_string(knn.fingerprint())) return false;
    KnnAnomalyHead with = knn;
    with.add_added(added);
    std::deque<Pending> waiting;
    for (const auto& x : j.at("pending")) {
      Pending p{floats_from_json(x.at("state"), "a pending slice"), x.at("ad_state").get<int>(),
                x.at("start").get<TimeUs>()};
      if (static_cast<int>(p.state.size()) != knn.dim() || !valid_anomaly_state(p.ad_state))
        throw ModelError(cat("a pending slice of ", p.state.size(), " values or state ", p.ad_state,
                             " does not fit the kNN (dimension ", knn.dim(), ")"));
      waiting.push_back(std::move(p));
    }
    knn = std::move(with);
    pending = std::move(waiting);
    return true;
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed kNN stream state: ", e.what()));
  }
}

AnomalyTimeline FailureHeads::detect(const HeadInputs& in, const std::vector<size_t>& which, AdStream* stream) const {
  const auto& adv = *in.ad_view;
  AnomalyTimeline t;
  AdStream fresh;
  if (!stream) {
    fresh = ad_stream();
    stream = &fresh;
  }
  const ZeroLabelRanker* ad_ranker = in.ad_ranker ? in.ad_ranker : in.ranker;
  const AdParts use = parts_in_use(ad_mode_, event_ad_ && ad_ranker, entity_ad_, kpi_ad_ && ad_ranker);
  const int used = use.embedding + use.events + use.entity + use.kpi;
  // heads.ad_combine=evidence, fitted where more than one part decides
  const bool evidence_ad = combines_evidence();
  for (size_t i : which) {
    const std::vector<float>& vec = fitted_ad_vector(adv[i]);
    const int s = ad_partition_.assign(vec);
    // each score against its own SPOT threshold (with several, the slice's score is the largest relative one), or
    // their combined evidence against one (heads.ad_combine)
    double score = 0, thr = 0, rel = 0;
    std::uint8_t by = 0;  // the parts that alarmed; the slice alarms when any did
    auto part = [&](Spot& spot, double value, AdPart bit) {
      double th = 0;
      if (spot.step(value, &th)) by |= bit;
      rel = std::max(rel, th > 0 ? value / th : 0.0);
      score = value;
      thr = th;
    };
    const bool online = use.embedding && options_.ad.online;
    if (online) {  // the slices no part alarmed on that the stream is now far enough past become references
      const TimeUs delay = static_cast<TimeUs>(options_.ad.online_delay_s * kUsPerSecond);
      while (!stream->pending.empty() && stream->pending.front().start <= adv[i].start - delay) {
        const auto& p = stream->pending.front();
        stream->knn.add_reference(p.state.data(), p.ad_state, p.start);
        stream->pending.pop_front();
      }
    }
    std::array<double, 4> x = {0, 0, 0, 0};  // embedding, events, entity, kpi
    if (use.embedding) {
      const KnnAnomalyHead& knn = online ? stream->knn : ad_;
      x[0] = knn.score(vec.data(), s, adv[i].start);
    }
    if (use.events) {
      auto r = ad_ranker->rank({i}, options_.ad_event_tail, /*alarm=*/true);
      x[1] = r.empty() ? 0.0 : r[0].score;
    }
    if (use.entity) x[2] = entity_ad_score(adv[i]);
    if (use.kpi) x[3] = ad_ranker->kpi_peak(i);
    const bool in_use[4] = {use.embedding, use.events, use.entity, use.kpi};
    std::array<double, 4> own;
    for (int k = 0; k < 4; ++k) own[k] = in_use[k] ? x[k] : std::numeric_limits<double>::quiet_NaN();
    t.part_scores.push_back(own);
    if (evidence_ad) {
      // one threshold on the parts' combined evidence; the parts behind an alarm are those at least as rare as q
      // alone (else the rarest)
      std::array<double, 4> p;
      const double e = combined_evidence(part_calibration_, {&spot_, &event_spot_, &entity_spot_, &kpi_spot_}, x,
                                         /*in_sample=*/false, &p);  // the parts' SPOTs as fitted (they do not step)
      const int rarest = static_cast<int>(std::min_element(p.begin(), p.end()) - p.begin());
      double th = 0;
      if (stream->evidence_spot.step(e, &th)) {
        for (int k = 0; k < 4; ++k)
          if (!part_calibration_[k].empty() && p[k] <= options_.spot.q) by |= kAdPartOrder[k];
        if (by == 0) by = kAdPartOrder[rarest];
      }
      score = th > 0 ? e / th : e;  // relative, as where each part has its own threshold
      thr = 1.0;
    } else {
      if (use.embedding) part(stream->spot, x[0], kAdEmbedding);
      if (use.events) part(stream->event_spot, x[1], kAdEvents);
      if (use.entity) part(stream->entity_spot, x[2], kAdEntity);
      if (use.kpi) part(stream->kpi_spot, x[3], kAdKpi);
      if (used > 1) {
        score = rel;
        thr = 1.0;
      }
    }
    if (online && by == 0) stream->pending.push_back({vec, s, adv[i].start});
    t.alarms.push_back(by != 0);
    t.alarmed_by.push_back(by);
    t.scores.push_back(score);
    t.thresholds.push_back(thr);
    t.states.push_back(s);
  }
  return t;
}

std::vector<float> FailureHeads::case_vector(const HeadInputs& in, const std::vector<size_t>& case_slices, TimeUs start,
                                             const std::string& kind) const {
  if (kind == "events" || kind == "events+top3") {
    // which zero-label signals make the case's top entity surprising (its pattern, scaled to its largest):
    // a missing log step, an ERROR step, a call lag, a KPI family ... tell fault types apart; events+top3
    // appends the largest surprise of each signal over the three top entities (scaled the same way): a fault
    // whose root cause ranks second still shows its pattern there, beside what outranked it
    RSLICER_CHECK(in.ranker != nullptr, InvalidInput, "heads: the events triage vector needs the zero-label ranker");
    const size_t n = in.ranker->signal_names().size();
    const auto r = in.ranker->rank(case_slices);
    auto scaled = [n](const std::vector<double>& x) {
      std::vector<float> v(n, 0.0f);
      const double top = x.empty() ? 0.0 : *std::max_element(x.begin(), x.end());
      for (size_t j = 0; j < n && j < x.size(); ++j) v[j] = top > 0 ? static_cast<float>(x[j] / top) : 0.0f;
      return v;
    };
    std::vector<float> v = scaled(r.empty() ? std::vector<double>{} : r[0].surprise);
    if (options_.triage_directions && !r.empty()) {
      const auto dir = in.ranker->directions(case_slices, r[0].entity);
      for (size_t j = 0; j < n && j < dir.size(); ++j) v[j] *= static_cast<float>(dir[j]);
    }
    if (kind == "events") return v;
    std::vector<double> top3(n, 0.0);
    for (size_t e = 0; e < r.size() && e < 3; ++e)
      for (size_t j = 0; j < n && j < r[e].surprise.size(); ++j) top3[j] = std::max(top3[j], r[e].surprise[j]);
    const auto t = scaled(top3);
    v.insert(v.end(), t.begin(), t.end());
    return v;
  }
  const auto& s = *in.slices;
  size_t dim = s.empty() ? 0 : s[0].state.size();
  std::vector<float> m = mean_state(s, case_slices, dim);
  if (kind == "mean") return m;
  std::vector<float> r = mean_state(s, slices_within(s, start - us(options_.ft_reference_s), start - us(60)), dim);
  std::vector<float> d(dim);
  for (size_t j = 0; j < dim; ++j) d[j] = m[j] - r[j];
  if (kind == "delta") return d;
  d.insert(d.end(), m.begin(), m.end());
  return d;
}

TriageVerdict FailureHeads::triage(const HeadInputs& in, const std::vector<int>& states,
                                   const std::vector<size_t>& case_slices, TimeUs start) const {
  if (!triage_fitted_ || case_slices.empty()) return {};
  auto [label, confidence] =
      triage_.predict_with_confidence(case_vector(in, case_slices, start, triage_kind_), majority_state(states, case_slices));
  return {label, confidence};
}

std::vector<EntityFeatures> FailureHeads::case_features(const HeadInputs& in, const std::vector<int>& st,
                                                        const std::vector<size_t>& case_slices, TimeUs start,
                                                        CaseEvidence* evidence) const {
  const auto& main = *in.slices;
  EmbeddingRcaOptions ro = options_.rcl;
  ro.state_aware = options_.state_aware;
  auto ri = slices_within(main, start - us(options_.rcl_reference_s), start - us(60));
  std::vector<const SliceEmbedding*> cp, rp;
  std::vector<int> cst, rst;
  for (size_t i : case_slices) {
    cp.push_back(&main[i]);
    cst.push_back(st[i]);
  }
  for (size_t i : ri) {
    rp.push_back(&main[i]);
    rst.push_back(st[i]);
  }
  std::vector<EntityFeatures> fs =
      entity_features(RcaInputs{cp, cst, rp, rst, &in.entities->names, &in.entities->kinds}, ro);
  if (evidence)
    for (const auto& f : fs) (*evidence)[f.entity].embedding_deviation = f.x[0];
  // Evidence from the case's own raw data, appended after the embedding features:
  // [log1p robust score over resource KPIs, log1p robust score over latency KPIs] and the span / log evidence.
  if (rcl_metric_) {
    RawScoreOptions mo = options_.raw;
    mo.robust = true;
    mo.reference_s = options_.rcl_reference_s;
    mo.min_rel_scale = std::max(mo.min_rel_scale, options_.rcl_rel_scale_floor);
    mo.skip_kpis_containing = "Latency";
    auto res_sc = in.metrics ? raw_entity_scores(*in.metrics, start, mo, ro.kind) : std::map<std::string, EntityScore>{};
    mo.skip_kpis_containing.clear();
    mo.only_kpis_containing = "Latency";
    auto lat_sc = in.metrics ? raw_entity_scores(*in.metrics, start, mo, ro.kind) : std::map<std::string, EntityScore>{};
    for (auto& e : fs)
      for (auto* sc : {&res_sc, &lat_sc}) {
        auto it = sc->find(e.entity);
        double z = it == sc->end() ? 0.0 : std::max(0.0, it->second.score);
        e.x.push_back(static_cast<float>(std::log1p(std::min(z, 1e4))));
        if (evidence && it != sc->end()) {
          auto& ev = (*evidence)[e.entity];
          (sc == &res_sc ? ev.metric : ev.latency) = it->second;
        }
      }
  }
  if (rcl_trace_) {
    std::map<std::string, TraceCaseEvidence> tf;
    if (in.traces && !in.traces->empty())
      tf = trace_case_features(*in.traces, start, start + us(options_.case_tail_s), start - us(60),
                               start + us(options_.case_tail_s + 60));
    for (auto& e : fs) {
      auto it = tf.find(e.entity);
      for (int j = 0; j < kTraceFeatureCount; ++j)
        e.x.push_back(it == tf.end() ? 0.f : static_cast<float>(it->second.features[j]));
      if (evidence && it != tf.end()) (*evidence)[e.entity].trace = it->second;
    }
  }
  return fs;
}

std::vector<EntityFeatures> FailureHeads::project(const std::vector<EntityFeatures>& fs, int variant) const {
  std::vector<EntityFeatures> out = fs;
  for (auto& e : out) {
    if (rcl_extra_ == 0 || variant == kLearnedEvidence) continue;
    std::vector<float> extra(e.x.end() - rcl_extra_, e.x.end());
    e.x.resize(e.x.size() - rcl_extra_);
    if (variant == kCompactEvidence) {
      e.x.resize(2);
      e.x.insert(e.x.end(), extra.begin(), extra.end());
    }
  }
  return out;
}

std::vector<EntityScore> FailureHeads::rank_features(const std::vector<EntityFeatures>& fs, int variant) const {
  if (variant != kUnsupervised) return rcl_head_.rank(project(fs, variant));
  std::vector<EntityScore> out;
  for (auto& f : fs) out.push_back({f.entity, f.x[0], "", 0, 0});
  std::stable_sort(out.begin(), out.end(), [](const EntityScore& a, const EntityScore& b) {
    return a.score != b.score ? a.score > b.score : a.entity < b.entity;
  });
  return out;
}

std::vector<RankedCause> FailureHeads::rank(const HeadInputs& in, const std::vector<int>& states,
                                            const std::vector<size_t>& case_slices, TimeUs start,
                                            size_t explain) const {
  if (rcl_variant_ == kZeroLabel) {
    RSLICER_CHECK(in.ranker, InvalidInput, "heads: the zero-label ranking needs the data's ranker (HeadInputs::ranker)");
    static const std::unordered_map<std::uint64_t, std::string> no_names;
    static const std::vector<std::string> no_slots;
    std::vector<RankedCause> out;
    for (const auto& z : in.ranker->rank(case_slices)) {
      RankedCause c{in.entities->names.at(z.entity), z.score, {}};
      if (out.size() < explain)
        c.evidence = in.ranker->explain(z, case_slices, in.event_names ? *in.event_names : no_names,
                                        in.kpi_slots ? *in.kpi_slots : no_slots, in.kpi_z_clip);
      out.push_back(std::move(c));
    }
    return out;
  }
  CaseEvidence evidence;
  auto fs = case_features(in, states, case_slices, start, explain ? &evidence : nullptr);
  std::vector<RankedCause> out;
  for (const auto& r : rank_features(fs, rcl_variant_)) {
    RankedCause c{r.entity, r.score, {}};
    if (out.size() < explain) c.evidence = describe_evidence(evidence[r.entity]);
    out.push_back(std::move(c));
  }
  return out;
}

// ---------------------------------------------------------------- persistence

Json FailureHeads::to_json() const {
  Json j = {{"options", HeadOptions::schema().to_json(options_)},
            {"partition", Json::parse(partition_.to_json())},
            {"ad_partition", Json::parse(ad_partition_.to_json())},
            {"ad", ad_.to_json()},
            {"spot", spot_.to_json()},
            {"event_ad", event_ad_},
            {"ad_mode", ad_mode_},
            {"event_spot", event_spot_.to_json()},
            {"entity_ad", entity_ad_},
            {"entity_spot", entity_spot_.to_json()},
            {"kpi_ad", kpi_ad_},
            {"kpi_spot", kpi_spot_.to_json()},
            {"triage_fitted", triage_fitted_},
            {"triage_kind", triage_kind_},
            {"rcl_variant", rcl_variant_},
            {"rcl_metric_evidence", rcl_metric_},
            {"rcl_trace_evidence", rcl_trace_},
            {"rcl_extra", rcl_extra_},
            {"info", info_}};
  if (triage_fitted_) j["triage"] = triage_.to_json();
  if (combines_evidence()) {
    j["evidence_spot"] = evidence_spot_.to_json();
    j["part_calibration"] = part_calibration_;
  }
  if (rcl_variant_ != kUnsupervised && rcl_variant_ != kZeroLabel) j["rcl_head"] = rcl_head_.to_json();
  return j;
}

FailureHeads FailureHeads::from_json(const Json& j) {
  FailureHeads h;
  try {
    h.options_ = HeadOptions::schema().from_json(j.at("options"));
    // models saved before the option: their triage head was fitted on vectors without the KPIs' direction
    if (!j.at("options").contains("triage_directions")) h.options_.triage_directions = false;
    // ... and before heads.event_span_errors its ranking and triage pattern had no failed-span signal
    if (!j.at("options").contains("event_span_errors")) h.options_.event_span_errors = "off";
    // ... and before heads.event_self_time, no self-time signal
    if (!j.at("options").contains("event_self_time")) h.options_.event_self_time = "off";
    // ... and before the kNN's calibration exclusion: calibrated against every reference beyond exclusion_s
    if (j.at("options").contains("ad") && !j.at("options").at("ad").contains("calibration_exclusion_s"))
      h.options_.ad.calibration_exclusion_s = 0;
    // ... and before the stream's references (heads.ad.online): the training references alone
    if (j.at("options").contains("ad") && !j.at("options").at("ad").contains("online")) h.options_.ad.online = false;
    // ... and before heads.ad_layer: the kNN read the state embedding
    if (!j.at("options").contains("ad_layer")) h.options_.ad_layer = "state";
    // ... and before heads.ad_combine: each part against its own threshold
    if (!j.at("options").contains("ad_combine")) h.options_.ad_combine = "any";
    // ... and before heads.spot.censor: the published SPOT update (the saved SPOT states say so themselves)
    if (j.at("options").contains("spot") && !j.at("options").at("spot").contains("censor"))
      h.options_.spot.censor = false;
    h.partition_ = StatePartition::from_json(j.at("partition").dump(), "heads.partition");
    h.ad_partition_ = StatePartition::from_json(j.at("ad_partition").dump(), "heads.ad_partition");
    h.ad_ = KnnAnomalyHead::from_json(j.at("ad"));
    h.spot_ = Spot::from_json(j.at("spot"));
    h.event_ad_ = j.value("event_ad", false);
    if (h.event_ad_) h.event_spot_ = Spot::from_json(j.at("event_spot"));
    h.entity_ad_ = j.value("entity_ad", false);  // models saved before the entity score: none
    if (h.entity_ad_) h.entity_spot_ = Spot::from_json(j.at("entity_spot"));
    h.kpi_ad_ = j.value("kpi_ad", false);  // models saved before the KPI part: none
    if (h.kpi_ad_) h.kpi_spot_ = Spot::from_json(j.at("kpi_spot"));
    // models saved before "auto" existed: their option is the mode; before the entity score, "both" was the pair
    // of the event score and the kNN
    h.ad_mode_ = j.value("ad_mode", h.options_.ad_score == "auto" ? std::string("both") : h.options_.ad_score);
    if (h.ad_mode_ == "both") h.ad_mode_ = "events+embedding";
    RSLICER_CHECK(h.ad_mode_ == "embedding" || h.ad_mode_ == "events" || h.ad_mode_ == "events+embedding" ||
                      ((h.ad_mode_ == "entity" || h.ad_mode_ == "events+entity") && h.entity_ad_),
                  ModelError,
                  "heads: unknown AD score '", h.ad_mode_, "'");
    if (j.contains("evidence_spot")) {
      h.evidence_spot_ = Spot::from_json(j.at("evidence_spot"));
      h.part_calibration_ = j.at("part_calibration").get<std::array<std::vector<double>, 4>>();
      for (const auto& t : h.part_calibration_)
        RSLICER_CHECK(std::is_sorted(t.begin(), t.end()), ModelError, "heads: part calibration scores not sorted");
    }
    h.triage_fitted_ = j.at("triage_fitted").get<bool>();
    h.triage_kind_ = j.at("triage_kind").get<std::string>();
    if (h.triage_fitted_) h.triage_ = TriageHead::from_json(j.at("triage"));
    h.rcl_variant_ = j.at("rcl_variant").get<int>();
    RSLICER_CHECK(h.rcl_variant_ >= kUnsupervised && h.rcl_variant_ <= kZeroLabel, ModelError,
                  "heads: unknown root-cause variant ", h.rcl_variant_);
    h.rcl_metric_ = j.at("rcl_metric_evidence").get<bool>();
    h.rcl_trace_ = j.at("rcl_trace_evidence").get<bool>();
    h.rcl_extra_ = j.at("rcl_extra").get<size_t>();
    if (h.rcl_variant_ != kUnsupervised && h.rcl_variant_ != kZeroLabel)
      h.rcl_head_ = LearnedRcaHead::from_json(j.at("rcl_head"));
    h.info_ = j.value("info", Json::object());
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed heads: ", e.what()));
  }
  return h;
}

}  // namespace rslicer
