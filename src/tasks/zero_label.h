// Zero-label root cause ranking: no label, no training case.
//
// Per candidate entity and case, signals:
//  - the DIRECT event signals (features/events.h): the entity's own log
//    steps (an expected step missing, spans ending early, an ERROR step),
//    the calls INTO it (start lag, caller minus callee time), its own ERROR
//    log lines, and its metrics (the most deviant KPI; a family of KPI slots
//    corrected for their number); where the data carry no metrics, also its
//    spans' failures (span status) and their self time (options.span_errors,
//    options.self_time). Signals that propagate to other entities
//    (a caller's duration, log rates, templates new to a service) stay in
//    the tokens but do not rank: in a failure they light up everywhere
//    upstream of the root cause;
//  - optionally, per modality, the entity's embedding distance from its own
//    normal embedding (the mean over the data), in units of its typical
//    distance;
//  - optionally, the encoder's learned root-cause score of the entity (its
//    entity head, trained with L_entity on controlled injection), as a
//    probability against "no fault"; only its rarity counts (no floor).
// A deviation must first matter in its own units (a robust z of at least 3,
// a share of spans changed by at least 10 points) before its rarity counts.
// Each signal is calibrated on the whole unlabelled timeline: its value's
// surprise is -log10 of the share of (slice, entity) rows of the data with a
// value at least as large, so a signal that is often large (a noisy KPI, a
// flaky service's error lines) counts little and one that is large only now
// counts a lot. The top of that calibration is where the data's other
// faults sit (on TrainTicket the largest 0.1 % of start lags are z 6 to
// 1,300), so the rank alone would score a call that lags at z 30 and one at
// z 1,000 the same: for the two call-time signals, whose values are
// unbounded, a value beyond the 99.9th percentile of the rows is scored
// on a power-law tail fitted through the 99th and 99.9th percentiles
// (exponent at most 3; never below its rank surprise). The event AD score
// keeps the rank surprise (docs/results.md). A lagging call (start lag, or
// a caller waiting beyond the callee's own time) is charged to the end that
// explains more of the slice's lagging calls: where the caller's service
// lags with at least two of the services it calls, at least half of them,
// and with more services (calling or called) than the callee's service, the
// caller sends late (its egress is delayed, or it starts its children late)
// and the lag and wait of that call are its pods', not the callee's. A hub
// that calls many services and lags with two of them keeps nothing. The
// KPI slots form one family: the best KPI's surprise is lowered by log10 of
// the number of KPIs that move independently on this data, measured in the
// 1 % tail (active members x the share of rows where some member reaches
// surprise 2 / the summed shares of the members; a KPI and its rate that
// always move together count once) with options.effective_family, else by
// log10 of the number of slots (the default: docs/results.md). With
// options.family_min_p the ranking (not the event AD score, rank(...,
// alarm = true)) scores the family by its rows' own tail instead: how often
// a calibration row's best KPI surprise is at least the entity's. KPI slots
// whose deviations the entities of a slice mostly share exactly
// (shared_kpi_slots: a node's KPI on each of its pods) do not count in the
// ranking (options.shared_kpis_out); the AD score and each signal's
// surprise (the triage pattern) keep them. An entity's score is its
// largest family surprise; ties go to the larger sum. The
// calibration and the normal embeddings come from the data being ranked
// (offline: all of it; a live stream: its past), never from labels.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "features/features.h"
#include "slice/embedding.h"

namespace rslicer {

struct ZeroLabelOptions {
  std::string kind = "pod";      // candidate entity kind ("" = all)
  bool event_signals = true;     // the direct event signals (and the metric family)
  bool embedding_signals = false;  // per-modality entity embedding deviations
  bool entity_scores = false;    // the encoder's learned root-cause score per entity (SliceEmbedding::entity_scores,
                                 // a model trained with L_entity); nothing when the embeddings have none
  bool span_patterns = true;     // ablation switches: the log-step signals,
  bool call_edges = true;        // the call-edge signals,
  bool log_lines = true;         // the ERROR log-line signal,
  bool metrics = true;           // the metric family
  bool tail_extrapolation = true;  // the call-time signals' surprise beyond the calibration's 99.9th percentile from
                                   // a power-law tail (false: the rank surprise alone, which saturates there)
  std::int32_t max_calibration_rows = 200000;  // rows kept per signal for the calibration (evenly sampled)
  double min_z = 3;              // a z signal (times, metrics, embedding distances) below this counts as 0
  double min_share = 0.1;        // a share signal (log steps) below this counts as 0
  bool effective_family = false;  // a family's best member is corrected for the number of its members that move
                                  // independently on the data (measured, see the .cc), not for the family's size
  bool shared_kpis_out = true;   // KPI slots whose deviations are mostly shared exactly by other entities of the
                                 // same slice (a node's KPI joined to each of its pods) do not count in the ranking
                                 // (the event AD score and the signals' pattern keep them)
  // a signal of its own: the largest rise of an operation's failed-span share (span status, against its profile;
  // EventDeviation::error_excess). on | off | auto: on where no slice of the data carries a metric token. With
  // metrics it lost on every simulated system (the callers' failing spans outrank a root cause whose evidence is
  // its KPIs, success rates among them); without them it is the only sign of a failing service
  // (docs/results.md, "Traces only")
  std::string span_errors = "auto";
  // a signal of its own: the self time of an entity's spans (the time outside their child spans, for spans that call
  // no other entity; EventDeviation::alarm_z_b of an operation), against its profile. on | off | auto: on where no
  // slice of the data carries a metric token. With metrics it lost on TrainTicket (a caller's spans read as its own
  // work where a call's child span is missing); without them it is the only sign of CPU, disk and memory faults in
  // the traces (docs/results.md, "Traces only")
  std::string self_time = "auto";
  bool family_min_p = false;     // the ranking (not the AD score) calibrates a family's best member on the
                                 // calibration rows' best members (a min-p; see above; off: it lost on
                                 // TrainTicket, docs/results.md)
};

// One ranked entity of a case.
struct ZeroLabelScore {
  Id entity = kNoId;
  double score = 0;              // largest surprise
  int best = -1;                 // the signal that gave it (index into ZeroLabelRanker::signal_names())
  std::vector<double> surprise;  // per signal
  std::vector<double> raw;       // per signal, the raw value
};

// The calibration rows of slices whose tokens were released (a live stream's older past): per signal the
// positive raw values and the number of rows they come from. ZeroLabelRanker::archive() halves it (every other
// value of each signal) when it reaches ZeroLabelOptions::max_calibration_rows, so it stays bounded however long
// the stream runs.
struct CalibrationArchive {
  double rows = 0;                          // rows the values stand for
  std::vector<std::vector<double>> values;  // per signal, positive values
  // the rows with a member of a family of several signals at or above its floor: those members (signal, value),
  // for the families' min-p calibration
  std::vector<std::vector<std::pair<std::uint32_t, double>>> joint;
  // per signal, its name (ZeroLabelRanker::signal_names() of the ranker that filled it): a ranker aligns the values
  // by name, so an archive from a ranker with other signals adds what they share. Empty: the ranker's own order
  std::vector<std::string> names;
  void thin();                              // halves the rows, keeping every other value of each signal and row
  // A model's copy (`rslicer train` saves its training data's: `detect` and `serve` rank new data against it too):
  // values to 4 significant digits. from_json: ModelError on a malformed object.
  nlohmann::json to_json() const;
  static CalibrationArchive from_json(const nlohmann::json& j);
};

class ZeroLabelRanker {
 public:
  // Calibrates on every slice of the data. `deviations` are the slices' event deviations
  // (Dataset::deviations); `embeddings` (optional, aligned with `slices`) adds the embedding signals.
  static ZeroLabelRanker fit(const std::vector<FeatureSlice>& slices,
                             const std::vector<std::vector<EventDeviation>>& deviations,
                             const std::vector<SliceEmbedding>* embeddings, const Catalog& catalog,
                             const ZeroLabelOptions& options, const CalibrationArchive* archived = nullptr);

  // Adds slice `slice`'s calibration rows to `archive` (before its tokens are released); thins it at
  // options.max_calibration_rows.
  void archive(size_t slice, CalibrationArchive& archive) const;
  // The calibration rows of `slices` (positions), thinned until at most `max_rows` remain: what a model saves.
  CalibrationArchive calibration(const std::vector<size_t>& slices, double max_rows) const;

  // Candidates of the case (its slice positions), best first.
  std::vector<ZeroLabelScore> rank(const std::vector<size_t>& case_slices) const {
    return rank(case_slices, options_.tail_extrapolation);
  }
  // ... with or without the call-time signals' power-law tail, whatever the options say (the event AD score
  // thresholds the rank surprise alone: docs/results.md); `alarm`: the call times' alarm z values
  // (EventDeviation::alarm_z_a, EventOptions::median_tail_z), as the event AD score reads them
  std::vector<ZeroLabelScore> rank(const std::vector<size_t>& case_slices, bool tail_extrapolation,
                                   bool alarm = false) const;

  // Sentences for one ranked entity, strongest signal first: the deviations behind its signals, with the
  // names of operations, callers, log steps and KPIs ("calls from ts-order-service (GET /x): start lag
  // 1.02 s (median of 12 calls, all slowed), 1.8 ms normally"; "(1 call)" where sampled traces left one).
  // `event_names`: Dataset::event_names; `kpi_slots`: FeatureState::kpi_slots; `z_clip`: FeatureOptions::z_clip,
  // where a KPI's robust z reads "N or more" (0: not known).
  std::vector<std::string> explain(const ZeroLabelScore& score, const std::vector<size_t>& case_slices,
                                   const std::unordered_map<std::uint64_t, std::string>& event_names,
                                   const std::vector<std::string>& kpi_slots, double z_clip = 0,
                                   size_t max_sentences = 4) const;

  const std::vector<std::string>& signal_names() const { return names_; }
  // Whether the failed-span signal is among them (ZeroLabelOptions::span_errors, "auto" resolved on the data).
  bool span_errors() const { return span_error_signal_ >= 0; }
  // Whether the self-time signal is among them (ZeroLabelOptions::self_time, "auto" resolved on the data).
  bool self_time() const { return self_signal_ >= 0; }
  bool is_embedding_signal(int signal) const { return signal >= static_cast<int>(n_event_); }
  // A signal's value for one entity of one slice (raw, before calibration).
  std::vector<double> entity_signals(size_t slice, Id entity) const;
  // The slice's most extreme KPI: the largest |squashed robust z| (FeatureOptions::z_clip at most; unsquash_z gives
  // the robust z) of any KPI slot of any entity, node KPIs joined to pods included; 0 without metric tokens. The
  // AD's KPI part (HeadOptions::ad_kpi) thresholds it.
  double kpi_peak(size_t slice) const;
  // The largest score rank(..., tail_extrapolation, alarm) can give an entity: each signal's surprise is a rank
  // among its calibration rows, so at most log10(rows + 1), less its family's correction (infinity where the call
  // times' power-law tail extrapolates). The AD's event part bounds its SPOT threshold with it (Spot::fit).
  double score_ceiling(bool tail_extrapolation, bool alarm) const;
  // Per signal, the direction of the entity's largest deviation over the case's slices: the sign of the KPI's
  // robust z for the metric slots (a leak raises memory, a restart drops it), +1 for every other signal.
  std::vector<double> directions(const std::vector<size_t>& case_slices, Id entity) const;

 private:
  void signals_of(size_t slice, std::vector<std::pair<Id, std::vector<double>>>& out, bool alarm = false) const;
  // Per deviation of the slice: whether its lagging call is charged to the caller's pods instead of the callee
  // (explaining away; see the .cc). Also the number of services each charged caller lags with.
  std::vector<bool> caller_charged(size_t slice, std::map<Id, size_t>* lagging_with = nullptr) const;
  double surprise(size_t signal, double value, bool tail_extrapolation) const;
  double member_floor(size_t signal) const;  // below this value a signal's surprise is 0
  bool shared(size_t signal) const;          // a KPI slot of shared_slot_

  ZeroLabelOptions options_;
  const std::vector<FeatureSlice>* slices_ = nullptr;
  const std::vector<std::vector<EventDeviation>>* deviations_ = nullptr;
  const std::vector<SliceEmbedding>* embeddings_ = nullptr;
  const Catalog* catalog_ = nullptr;
  std::vector<std::string> names_;
  size_t n_event_ = 0;                       // event signals come first, then the embedding signals
  int distance_signal_ = -1;                 // first of the per-modality embedding distances, -1 when off
  int score_signal_ = -1;                    // the learned root-cause score, -1 when off
  std::vector<int> family_;                  // per signal: its family (max over a family, corrected for size)
  std::vector<int> family_size_;
  int span_error_signal_ = -1;               // the failed-span signal's index (options_.span_errors), or -1
  int self_signal_ = -1;                     // the self-time signal's index (options_.self_time), or -1
  std::vector<char> shared_slot_;            // per KPI slot: shared by the entities of a slice (shared_kpi_slots)
  std::vector<double> family_n_;             // per family: the number of members its best member is corrected for
  // per family of several members (options_.family_min_p): the calibration rows' best member surprises, ascending
  // (rows without one count as 0), and the number of rows
  std::vector<std::vector<double>> family_best_;
  double family_rows_ = 0;
  std::vector<std::vector<double>> sorted_;  // per signal: calibration values, ascending
  std::vector<double> rows_;                 // per signal: rows the values stand for
  // normal embedding per (entity, modality): mean and typical distance
  std::vector<std::vector<float>> normal_mean_;
  std::vector<double> normal_scale_;
  std::vector<std::int32_t> normal_index_;   // entity * 3 + modality -> index or -1
};

}  // namespace rslicer
