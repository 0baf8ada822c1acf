// Feature extraction for the native encoder: a runtime Slice becomes a small
// set of numeric feature tokens per modality, computed against a rolling
// baseline built ONLY from data strictly before the slice's start (no
// peeking). No libtorch here: the torch encoder (model/native_encoder.h)
// consumes FeatureSlices, and tasks/baselines can use them directly.
//
// Tokens (one TokenSet per modality):
//  - metrics: ONE token per entity. Its values are, for each KPI slot
//    (kKpiSlots, see FeatureState::kpi_slot), the robust z-score of the
//    window level against the entity x KPI baseline (median / MAD of the
//    baseline ring) and the z-scored window trend, then summary values.
//  - traces: event tokens per entity (features/events.h): one per
//    (entity, operation) with its duration, self time, errors and log-step
//    pattern, and one per call edge into the entity (start lag, caller minus
//    callee duration, errors), as deviations from the normal profile of the
//    key; a budget per entity keeps its most deviant tokens.
//  - logs: one token per (entity, template): rate, ERROR / WARN shares and
//    novelty against the profile, same per-entity budget.
// Every token carries hashed word pieces of its names (service, KPI is not a
// name piece of a metric token since the KPI is its slot; operation; template
// constant words), so unseen services, operations and templates still map.
//
// Data layout contract: value j of token i of a TokenSet is values[i * dim + j];
// piece p of token i is pieces[i * kMaxPieces + p] (0 = padding, buckets are
// 1 .. name_buckets - 1).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "features/events.h"

#include "telemetry/record.h"
#include "slice/slice.h"

namespace rslicer {

constexpr int kMaxPieces = 12;         // word pieces per token name (extra pieces are dropped)
constexpr int kKpiSlots = 24;          // KPI slots of a metric token (TrainTicket pods have 19 KPIs)
constexpr int kMetricSummary = 6;      // summary values after the slots
constexpr int kMetricReadySummary = 5;  // ... the one that holds the share of the entity's KPIs with a baseline
constexpr int kMetricTokenDim = 2 * kKpiSlots + kMetricSummary;  // [z level x slots, z trend x slots, summary]
constexpr int kTraceTokenDim = 16;
constexpr int kLogTokenDim = 6;
// kMetricTokenDim / kTraceTokenDim / kLogTokenDim (inline: model/ uses it without linking features/)
inline int token_dim(Modality m) {
  return m == Modality::kMetrics ? kMetricTokenDim : m == Modality::kTraces ? kTraceTokenDim : kLogTokenDim;
}

// A metric token's |squashed z| back to |robust z| (the squash is linear to 3, logarithmic beyond; exact below
// the clip, where the value is only a lower bound).
double unsquash_z(double squashed);

struct FeatureOptions {
  std::int32_t name_buckets = 4096;     // B: hash buckets of name word pieces (bucket 0 = padding)
  std::uint64_t hash_seed = 0x5eed5eedULL;  // seed of the word-piece hash; fixed so models are portable
  std::int32_t baseline_len = 60;       // ring length of the metric baseline per entity x KPI (points; 1/min on TrainTicket)
  EventOptions events;                  // trace / log event tokens and their normal profile
  std::int32_t min_baseline = 3;        // fewer baseline values: z-scores are 0 (unknown), not extreme
  double z_clip = 12.0;                 // |z| is clipped here (after a soft log compression beyond 3), i.e. at a robust
                                        // z of about 8,100 (8 until 2026-12-06: about 150, where extremes tied)
  double min_rel_scale = 0.05;          // robust scale floor, as a fraction of |median| (flat KPIs do not explode)
  double min_abs_scale = 1e-6;          // absolute robust scale floor
  // a KPI's level z is also taken over the slice's latest pane alone (its last stride), scaled by the square root of
  // the pane's share of the window's points, and the larger |z| counts: a fault in its first minute is a third of a
  // 3-minute window's mean. Off: it ranks more root causes first within 60 s on simulated systems and costs triage
  // on TrainTicket (docs/results.md, "Without logs the proxies are ours")
  bool metric_latest_pane = false;
  static const config::Schema<FeatureOptions>& schema();
};

// Numeric tokens of one modality of one slice.
struct TokenSet {
  std::int32_t dim = 0;                 // numeric values per token (token_dim(modality))
  std::vector<float> values;            // [n * dim]
  std::vector<std::int32_t> pieces;     // [n * kMaxPieces] word-piece buckets, 0 = padding
  std::vector<Id> entities;             // [n] catalog entity the token belongs to (the pod/entity of the metrics, the executing entity of spans, the emitting entity of logs), kNoId if none
  std::vector<std::uint8_t> kinds;      // [n] 1 + EntityKind of that entity, 0 when none
  std::vector<std::uint64_t> keys;      // [n] stable hash of the token's full name (entity/op/template), for flat layouts and names
  size_t size() const { return entities.size(); }
};

// A featurised slice: compact (a few KB), no raw records.
struct FeatureSlice {
  std::int64_t index = 0;               // Slice::index
  TimeUs start = 0;
  TimeUs end = 0;
  ModalityMask mask;                    // modality present <=> its TokenSet is non-empty
  std::vector<std::uint32_t> faults;    // Slice::faults (indices into the dataset's fault list)
  std::array<TokenSet, kNumModalities> tokens;  // indexed by static_cast<int>(Modality)
  std::int64_t n_metric_points = 0, n_spans = 0, n_logs = 0;  // raw record counts of the slice
  std::array<std::string, kNumModalities> texts;  // serialised modality texts (serialize/serialize.h), filled only
                                                  // for the qwen3 backbone (PrepareOptions::serialize_texts)
  std::shared_ptr<const PaneSummary> head_pane;   // event statistics of [start, start + stride) until the event
                                                  // tokens are built (FeatureExtractor::finish); then released
};

// Per KPI slot: whether its deviations (|z| >= min_z in the metric tokens) are mostly twins, the exact value another
// entity of the same slice has too (at least half of them). A node's KPI that a reader joins to each of its pods is
// such a slot: it tells the node's state, not which of its pods is at fault (the zero-label ranking leaves it out).
std::vector<char> shared_kpi_slots(const std::vector<FeatureSlice>& slices, double min_z);

// The share of a slice's (entity, KPI) series that had a baseline (FeatureOptions::min_baseline past points);
// the others' z-scores are 0, so they can neither alarm nor rank. -1 when the slice has no metrics.
double metric_readiness(const FeatureSlice& slice);

// Persistent part of the extractor: what a trained model must carry so that
// embedding new data reproduces the training features (KPI slot
// assignment, names of token keys). Baseline statistics are NOT persisted:
// they are rebuilt from each dataset's own past (documented in docs/encoder.md).
struct FeatureState {
  FeatureOptions options;
  std::vector<std::string> kpi_slots;   // KPI name of slot i (first kKpiSlots KPIs seen, in order); others hash into a slot
  std::unordered_map<std::uint64_t, std::string> key_names;  // token key -> display name ("ts-order-service|GET /api/...")
  bool frozen = false;                  // no new KPI slots (set when a model is saved)

  int kpi_slot(const std::string& kpi);  // assigns a slot when not frozen and free; else a stable hash slot
  nlohmann::json to_json() const;
  static FeatureState from_json(const nlohmann::json& j);  // throws ModelError on a malformed state
};

// Splits a name into lower-case word pieces: on - _ . / ( ) : space and
// other punctuation, on camelCase boundaries and digit/letter boundaries;
// pure-hex/long-digit runs (pod hashes, ids) become "<num>". Deterministic.
std::vector<std::string> name_pieces(const std::string& name);
// FNV-1a 64 of `piece` mixed with `seed`, mapped to 1 .. buckets-1.
std::int32_t piece_bucket(const std::string& piece, std::uint64_t seed, std::int32_t buckets);
std::uint64_t name_key(const std::string& name);  // FNV-1a 64 of the full name

// Streaming feature extractor: call extract() on slices in time order.
// Baselines only contain data with time < slice.start of the slice being
// featurised. Template text comes through `template_text` (template id ->
// text, e.g. from the Drain miner) so that log tokens get name pieces.
class FeatureExtractor {
 public:
  using TemplateText = std::function<std::string(Id template_id)>;
  // `stride_s`: the slices' stride (the event statistics are per pane of one stride).
  FeatureExtractor(FeatureState state, const Catalog& catalog, TemplateText template_text = {}, double stride_s = 60);
  ~FeatureExtractor();

  // Metric tokens and the head pane's event statistics; trace and log tokens
  // come from finish(), once the profile is known.
  FeatureSlice extract(const Slice& slice);
  // Builds the trace and log tokens of `slices` (time order, from extract())
  // against the profile (`prior` plus these slices' panes; options.events
  // says leave-the-window-out, causal, or only the panes inside the reference
  // periods) and releases the pane statistics.
  void finish(std::vector<FeatureSlice>& slices, const EventProfile* prior = nullptr);
  // Online (live streams and `detect --online`), causal profile only. Call add_pane() with every slice from
  // extract(), in time order; once every slice that starts before `fs.end` has been added, finish_causal(fs)
  // builds fs's trace and log tokens against `prior` plus the added panes that start before fs.start within the
  // horizon, and returns the deviations behind them. Slices are finished in time order; panes older than the
  // horizon are released. finish() with options.events.profile == "causal" gives the same tokens.
  void add_pane(const FeatureSlice& fs);
  std::vector<EventDeviation> finish_causal(FeatureSlice& fs, const EventProfile* prior = nullptr);
  // The causal profile of the last finish_causal(): the panes within the horizon before that slice.
  const EventProfile& causal_profile() const;
  // The profile of the panes seen by finish() or add_pane() (without the prior): what a model saves.
  const EventProfile& profile() const { return profile_; }
  // Slices whose own panes the prior already holds (the data overlaps the period the prior was built from, e.g.
  // a model's training data): their profile leaves the prior out (finish() and finish_causal()).
  size_t prior_overlap() const { return prior_overlap_; }
  // The call-edge sparsity of the data finish() saw; where options.events.min_window_samples was -1 (auto) it
  // chose 1 or 0 from it (`chose`; state().options then holds the resolved value).
  const EdgeSparsity& edge_sparsity() const { return sparsity_; }
  // Per slice, the deviations finish() turned into tokens (within the budgets); all of them after
  // keep_deviations(true) (tests, diagnostics).
  void keep_deviations(bool on) { keep_deviations_ = on; }
  const std::vector<std::vector<EventDeviation>>& deviations() const { return deviations_; }
  std::vector<std::vector<EventDeviation>> take_deviations() { return std::move(deviations_); }
  const EventSummarizer& summarizer() const;
  const FeatureState& state() const { return state_; }
  FeatureState& state() { return state_; }

 private:
  // Adds the tokens of `devs` within the budgets; returns the deviations kept.
  std::vector<EventDeviation> add_event_tokens(FeatureSlice& fs, const std::vector<EventDeviation>& devs);
  void resolve_min_window_samples(const std::vector<FeatureSlice>& slices);
  EdgeSparsity sparsity_;
  struct Impl;
  EventProfile profile_;
  bool keep_deviations_ = false;
  size_t prior_overlap_ = 0;
  std::vector<std::vector<EventDeviation>> deviations_;
  FeatureState state_;
  const Catalog& catalog_;
  TemplateText template_text_;
  std::unique_ptr<Impl> impl_;
};

// The slice as an anomaly-detection view sees it: "all" unchanged, "metrics"
// with its trace and log tokens removed, "metrics+traces" with its log tokens
// removed. Where a modality exists only around faults (TrainTicket's logs,
// and its traces outside TraStrainer's days) its presence alone would leak
// the label, so AD must not see it. InvalidInput on another view name.
FeatureSlice ad_view_of(const FeatureSlice& slice, const std::string& view);
// Share of slices holding traces or logs.
double trace_log_coverage(const std::vector<FeatureSlice>& slices, const std::vector<size_t>& which = {});

// A fixed column layout for flat "standardised feature" vectors (the plain
// feature baseline): one column per (metric token key, KPI slot z-level),
// per trace key x {duration or lag z, self time or caller-minus-callee z,
// deviation}, per log key x {rate ratio, ERROR share}, plus global summary
// columns. Built from a set of slices
// (normally the training slices); keys unseen there are ignored.
struct FlatLayout {
  std::vector<std::uint64_t> metric_keys;  // sorted
  std::vector<std::uint64_t> trace_keys;   // sorted
  std::vector<std::uint64_t> log_keys;     // sorted
  size_t dim() const;
};
FlatLayout build_flat_layout(const std::vector<FeatureSlice>& slices, const std::vector<size_t>& which = {});
// [layout.dim()] values; absent tokens give 0 (= "at baseline").
std::vector<float> flat_features(const FeatureSlice& slice, const FlatLayout& layout);

}  // namespace rslicer
