// State-Aware Task-Oriented Tuning: the light heads that turn runtime-state
// embeddings into failure management, fitted once on a training part and
// saved in the model folder beside the encoder (heads.json):
//
//   states       k-means partition of the unified embeddings (StatePartition),
//                one for the AD view and one for the main view;
//   AD           kNN distance to normal training slices of the same state,
//                calibrated per state, thresholded by SPOT (its calibrated
//                state is saved, detect runs it on over new data); or the
//                case's most surprising entity by the zero-label signals,
//                with its own SPOT; or the encoder's learned belief that the
//                slice holds a root cause (a model trained with L_entity),
//                with its own SPOT (ad_score "both": the event score and the
//                learned one, the entity head where the model has one, else the
//                kNN; either alarms; the event score alone where the normal
//                training slices lack a modality the kNN would read; "auto":
//                the candidate that fits the labelled training slices best);
//                each SPOT is calibrated on the normal training slices where
//                they carry the modalities the scores read, else on all;
//   triage       kNN or logistic regression on case vectors (case mean
//                embedding, its change against the minutes before, both, the
//                pattern of zero-label signals of the top entity, or that
//                pattern and the largest signals of the top three; kind, model
//                and its k or L2 chosen by leave-one-case-out on the training
//                cases) - only when the training data has labels;
//   root cause   the zero-label ranking (tasks/zero_label.h); with labelled
//                training cases, label-trained heads on each entity's
//                embedding deviation and raw evidence compete with it by
//                leave-one-case-out on the training cases.
//
// What needs no labels (partitions, AD references and threshold) is fitted
// without them; labels, when present, only remove faulty slices from the AD
// references and train the triage and root-cause heads. Applying the heads
// never reads labels. No libtorch: the embeddings come in as SliceEmbeddings.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "slice/embedding.h"
#include "tasks/anomaly.h"
#include "tasks/evidence.h"
#include "tasks/raw_metrics.h"
#include "tasks/rootcause.h"
#include "tasks/spot.h"
#include "tasks/trace_evidence.h"
#include "tasks/triage.h"
#include "tasks/zero_label.h"
#include "tune/state_partition.h"

namespace rslicer {

// heads.spot_calibration=normal needs this many normal training slices, else SPOT is calibrated on all of them
constexpr size_t kMinNormalCalibration = 30;

// heads.spot_calibration=normal also needs the normal slices to carry each modality the score reads: a modality
// carried by a share of them below this times its share among all training slices (on a data set whose traces
// exist only around faults, say) falls back to all, since a threshold never calibrated on it would alarm on it
constexpr double kMinCalibrationCoverage = 0.5;

// The training slices a SPOT threshold is calibrated on.
struct SpotCalibration {
  std::vector<size_t> at;  // positions into `train`
  bool normal = true;      // false: all of them
  std::string note;        // why all when normal was asked for ("" otherwise)
  std::string lacking;     // the modality the normal slices under-represent ("" when none or not checked)
};
// `how` = "all": every training slice (label-free); "normal": those for which normal(train[k]) holds (outside the
// labelled faults), or every one when fewer than kMinNormalCalibration are or when, with `modalities` (the
// ModalityMask bits of a slice the score reads), the normal ones under-represent a modality (kMinCalibrationCoverage).
// `lacking` is set either way (the normal slices are also the kNN's references), when at least
// kMinNormalCalibration of them exist. Throws InvalidInput on another `how`.
SpotCalibration spot_calibration_positions(const std::vector<size_t>& train, const std::function<bool(size_t)>& normal,
                                           const std::string& how,
                                           const std::function<std::uint8_t(size_t)>& modalities = {});

struct HeadOptions {
  bool state_aware = true;           // false: one global state (K = 1), the ablation
  std::string ad_score = "both";     // embedding: kNN distance of the state embedding; events: the slice's most
                                     // surprising entity (the zero-label signals); entity: the encoder's entity
                                     // head, -log P(no root cause) (a model trained with L_entity);
                                     // events+embedding, events+entity: either alarms; both: events+entity where
                                     // the model has the head, else events+embedding; auto: with labelled training
                                     // cases the one of both, events and the learned score with the best point-wise
                                     // F1 on the training slices, else both
  std::string ad_layer = "encodings";  // what the AD kNN and the AD view's runtime states read: encodings (the
                                       // modalities' encodings under the projections the contrastive losses align,
                                       // SliceEmbedding::encodings; the state where an encoder has none) or state
                                       // (the fused state embedding; docs/results.md "The AD kNN reads the
                                       // encodings")
  PartitionOptions partition;        // k-means of runtime states (training slices only)
  AnomalyOptions ad;                 // kNN anomaly head
  SpotOptions spot = {0.01, 0.95, true, true};  // SPOT threshold (alarms censored); risk 0.01 for detect (rslicer eval
                                                // uses the published protocol's q = 0.1)
  std::string spot_calibration = "normal";  // the training slices SPOT is calibrated on: normal (outside the
                                            // labelled faults, where there are at least kMinNormalCalibration;
                                            // else all), or all (label-free)
  TriageOptions triage;              // triage head; kind, model, k / L2 chosen by leave-one-case-out
  EmbeddingRcaOptions rcl;           // embedding deviation per entity
  LearnedRcaOptions rcl_learned;     // listwise linear root-cause head
  RawScoreOptions raw;               // the metric evidence's robust scorer (BARO)
  double ft_reference_s = 600;       // triage: case vector = case-window mean minus the mean of [t - this, t - 60 s)
  double rcl_reference_s = 3600;     // root cause: entity profiles from [t - this, t - 60 s) (unlabelled)
  double rcl_rel_scale_floor = 0.1;  // metric evidence: IQR floor as a share of the normal level
  bool rcl_metric_evidence = true;   // root cause may use each entity's robust metric deviation
  bool rcl_trace_evidence = true;    // ... and its span / log evidence
  bool rcl_embedding_signals = false;  // the zero-label ranking adds per-modality entity embedding deviations
                                       // (off: on TrainTicket they lowered AC@1 from 0.80 to 0.60, docs/results.md)
  bool rcl_entity_scores = false;    // ... and the encoder's learned root-cause score per entity (a model trained
                                     // with L_entity; docs/results.md)
  bool event_tail = true;            // the zero-label root-cause ranking scores call times beyond its
                                     // calibration's 99.9th percentile on a power-law tail
                                     // (ZeroLabelOptions::tail_extrapolation)
  bool event_kpi_family = false;     // the event AD score and the ranking (without rcl_kpi_min_p) correct the best
                                     // KPI's surprise for the KPIs that move independently on the data, not the
                                     // number of KPI slots (ZeroLabelOptions::effective_family; off: it lost
                                     // on TrainTicket, root cause and AD, docs/results.md)
  std::string event_span_errors = "auto";  // the event signals (ranking, AD score, triage pattern) include the
                                           // rise of an operation's failed-span share: on | off | auto (where the
                                           // data carry no metrics; ZeroLabelOptions::span_errors)
  std::string event_self_time = "auto";    // ... and the self time of an entity's spans: on | off | auto (where the
                                           // data carry no metrics; ZeroLabelOptions::self_time)
  bool rcl_shared_kpis = false;      // the zero-label root-cause ranking also counts KPI slots whose deviations
                                     // the entities of a slice mostly share exactly (a node's KPI on each of its
                                     // pods; off: they stay in the AD score and the triage pattern only,
                                     // ZeroLabelOptions::shared_kpis_out)
  bool rcl_kpi_min_p = false;        // the zero-label root-cause ranking scores the KPI family by how often a
                                     // calibration row's best KPI is as surprising (ZeroLabelOptions::family_min_p;
                                     // off: it won on simulated systems and lost on TrainTicket, docs/results.md)
  bool triage_directions = true;     // the "events" triage vectors carry the direction of the top entity's KPIs
                                     // (a leak raises memory, a restart drops it), not only how far they moved
  bool ad_event_tail = false;        // ... and so does the event AD score (off: SPOT's threshold on the heavier tail
                                     // alarmed less on simulated days, docs/results.md)
  bool ad_kpi = true;                // whatever ad_score, a slice also alarms when its most extreme KPI (the largest
                                     // robust z of any entity's KPI, ZeroLabelRanker::kpi_peak) passes its own SPOT
                                     // threshold, calibrated on the normal training slices (they all carry
                                     // metrics): a fault that moves only KPIs cannot pass the event score's
                                     // (docs/results.md, "Faults that show only in the KPIs")
  bool ad_split_risk = true;         // the AD parts that can alarm share the risk: each is calibrated at spot.q / their
                                     // number, so that q bounds the slice's false alarm rate (false: each at q)
  std::string ad_combine = "evidence";  // how the AD parts decide a slice where several do: evidence (each part's
                                        // score as its tail p-value among its calibration scores, by the fitted
                                        // GPD tail beyond the initial SPOT threshold; the slice's -sum log p
                                        // against one SPOT threshold at q: two parts that move a little together
                                        // count, one far out still alarms alone) or any (each part against its
                                        // own threshold at its share of the risk, ad_split_risk; the slice
                                        // alarms when one does). auto scores its candidates as any
  double case_tail_s = 300;          // evidence window [t, t + this) of a case starting at t
  double rcl_switch_p = 1;           // a label-using root-cause head replaces the parameter-free ranking only
                                     // if it beats it on the training cases (leave one case out) with a one-sided
                                     // sign test p at most this; 1 = the best leave-one-out AC@1 wins
  static const config::Schema<HeadOptions>& schema();
};

// Catalog names of the entities the embeddings refer to (indexed by Id).
struct EntityDirectory {
  std::vector<std::string> names;
  std::vector<std::string> kinds;     // "pod", "service", ...
  std::vector<std::string> services;  // owning service name ("" for services)
  std::string service(const std::string& entity) const;  // the entity itself when it has no service
};

// What the heads look at in one dataset. `slices` and `ad_view` are aligned
// (slice i is the same window in both) and in time order; ad_view may point
// at slices when AD uses every modality.
struct HeadInputs {
  const std::vector<SliceEmbedding>* slices = nullptr;
  const std::vector<SliceEmbedding>* ad_view = nullptr;
  const EntityDirectory* entities = nullptr;
  const MetricTable* metrics = nullptr;  // raw metrics for the evidence (null: none)
  const TraceTable* traces = nullptr;    // spans and logs for the evidence (null: none)
  const ZeroLabelRanker* ranker = nullptr;  // the zero-label ranking of this data (null: not available)
  const std::unordered_map<std::uint64_t, std::string>* event_names = nullptr;  // for its evidence
  const std::vector<std::string>* kpi_slots = nullptr;
  double kpi_z_clip = 0;  // FeatureOptions::z_clip of the tokens (0: not known), for the evidence
  // the AD event score's ranker (null: `ranker`). eval restricts it to the AD view's modalities where the mere
  // presence of traces or logs marks the labelled faults (TrainTicket's Nezha folder), so it cannot leak them
  const ZeroLabelRanker* ad_ranker = nullptr;
};

// The zero-label ranker options of the heads: for root cause (ad_view "all"), or for the AD event score of a
// restricted AD view: "metrics" keeps the metric family only, "metrics+traces" the metric family and the call
// edges (span patterns and ERROR lines come from logs).
ZeroLabelOptions ranker_options(const HeadOptions& options, const std::string& ad_view = "all");

// The entity head's AD score of one slice: -log P(no root cause) = log(1 + sum_e exp(logit_e)), the surprise,
// in nats, that the slice holds no root cause (L_entity's "none" logit is 0); 0 when the slice has no scores.
double entity_ad_score(const SliceEmbedding& e);

// A labelled case of the training part.
struct TrainingCase {
  TimeUs start = 0;                // labelled fault start
  std::vector<size_t> slices;      // slices overlapping the fault
  std::string fault_type;
  std::string root_cause, level;   // FaultEvent::root_cause and level
};

// The parts of the AD score, as bits of AnomalyTimeline::alarmed_by.
enum AdPart : std::uint8_t { kAdEmbedding = 1, kAdEvents = 2, kAdEntity = 4, kAdKpi = 8 };
// The parts in the order of AnomalyTimeline::part_scores, with their short names (metrics.json's keys).
constexpr AdPart kAdPartOrder[4] = {kAdEmbedding, kAdEvents, kAdEntity, kAdKpi};
constexpr const char* kAdPartKeys[4] = {"embedding", "events", "entity", "kpi"};
// "state embedding", "event signals", "entity head", "most extreme KPI" for the bits set, in that order.
std::vector<std::string> ad_part_names(std::uint8_t parts);

// One-sided exact sign test: P(X >= wins) for X ~ Binomial(wins + losses, 1/2); 1 without discordant pairs.
double sign_test_p(int wins, int losses);

// The AD decisions over a run of slices.
struct AnomalyTimeline {
  // scores and thresholds: the embedding score with "embedding"; otherwise each score relative to its own
  // threshold and the larger of the two ("both") with threshold 1
  std::vector<double> scores, thresholds;
  std::vector<bool> alarms;
  // per slice: the AdPart bits behind its alarm (those past their own threshold; with heads.ad_combine=evidence
  // those whose own tail p-value is at most q, else the rarest)
  std::vector<std::uint8_t> alarmed_by;
  std::vector<int> states;  // AD state of each slice
  // per slice: each part's own score before any combination (kAdPartOrder; NaN for a part not in use), so that a
  // reader can tell which part ranks the faults (eval's ad.part_auroc)
  std::vector<std::array<double, 4>> part_scores;
};

struct TriageVerdict {
  std::string label;        // "" when the heads have no triage head
  double confidence = 0;    // share of the distance-weighted kNN vote
};

// One ranked entity with the evidence that put it there.
struct RankedCause {
  std::string entity;
  double score = 0;
  std::vector<std::string> evidence;  // sentences, strongest first
};

class FailureHeads {
 public:
  // Fits on the slices `train` of `in` (time order). `cases` are the labelled
  // training cases (empty: label-free fitting). `seed` drives k-means.
  static FailureHeads fit(const HeadInputs& in, const std::vector<size_t>& train, const std::vector<TrainingCase>& cases,
                          const HeadOptions& options, std::uint64_t seed);

  // Runtime states of every slice (main view) and of the AD view.
  std::vector<int> states(const std::vector<SliceEmbedding>& slices) const;
  std::vector<int> ad_states(const std::vector<SliceEmbedding>& ad_view) const;
  // What a stream of AD decisions carries from slice to slice: the SPOT thresholds (they adapt as scores come
  // in) and the kNN's references (normal time the stream has seen, AnomalyOptions::online).
  struct AdStream {
    Spot spot, event_spot, entity_spot, kpi_spot;
    KnnAnomalyHead knn;  // the fitted kNN, plus the references the stream added
    struct Pending {
      std::vector<float> state;
      int ad_state;
      TimeUs start;
    };
    std::deque<Pending> pending;  // slices no part alarmed on, not yet online_delay_s behind the stream
    Spot evidence_spot;           // heads.ad_combine=evidence: the threshold on the slice's combined evidence
    // The kNN's added references and the pending slices, to carry across a restart. knn_from_json takes them
    // all or none: false (the stream untouched) where another model took them, ModelError on a malformed object.
    nlohmann::json knn_to_json() const;
    bool knn_from_json(const nlohmann::json& j);
  };
  AdStream ad_stream() const { return {spot_, event_spot_, entity_spot_, kpi_spot_, ad_, {}, evidence_spot_}; }
  // Scores `which` (time order) and runs the calibrated SPOT over them: from the fitted thresholds, or
  // continuing `stream` (a live stream decides slice by slice).
  AnomalyTimeline detect(const HeadInputs& in, const std::vector<size_t>& which, AdStream* stream = nullptr) const;

  bool has_triage() const { return triage_fitted_; }
  // The fault type of a case (its slices, its start) by the triage head; `states` from states().
  TriageVerdict triage(const HeadInputs& in, const std::vector<int>& states, const std::vector<size_t>& case_slices,
                       TimeUs start) const;
  // Entities ranked best first with their evidence (`explain` top entities get sentences).
  std::vector<RankedCause> rank(const HeadInputs& in, const std::vector<int>& states,
                                const std::vector<size_t>& case_slices, TimeUs start, size_t explain = 5) const;

  const HeadOptions& options() const { return options_; }
  const StatePartition& partition() const { return partition_; }
  const StatePartition& ad_partition() const { return ad_partition_; }
  // What was chosen and measured while fitting (states, SPOT thresholds, chosen heads, leave-one-out scores).
  const nlohmann::json& info() const { return info_; }

  nlohmann::json to_json() const;
  static FailureHeads from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  enum RclVariant { kUnsupervised = 0, kCompactEvidence, kLearned, kLearnedEvidence, kZeroLabel };
  std::vector<EntityFeatures> case_features(const HeadInputs& in, const std::vector<int>& states,
                                            const std::vector<size_t>& case_slices, TimeUs start,
                                            CaseEvidence* evidence) const;
  std::vector<EntityFeatures> project(const std::vector<EntityFeatures>& fs, int variant) const;
  std::vector<EntityScore> rank_features(const std::vector<EntityFeatures>& fs, int variant) const;
  std::vector<float> case_vector(const HeadInputs& in, const std::vector<size_t>& case_slices, TimeUs start,
                                 const std::string& kind) const;

  HeadOptions options_;
  StatePartition partition_, ad_partition_;
  KnnAnomalyHead ad_;
  Spot spot_;
  bool event_ad_ = false;  // the event score is calibrated (the heads were fitted with a ranker)
  bool entity_ad_ = false;  // the entity-head score is calibrated (the AD view's embeddings had entity scores)
  bool kpi_ad_ = false;     // the most extreme KPI alarms on its own (options_.ad_kpi, with a ranker)
  // the AD score in use (options_.ad_score resolved): embedding, events, entity, events+embedding or events+entity
  std::string ad_mode_ = "embedding";
  Spot event_spot_, entity_spot_, kpi_spot_;
  // heads.ad_combine=evidence: each part's calibration scores, sorted (embedding, events, entity, kpi; empty for a
  // part not in use), and the threshold on the combined evidence
  std::array<std::vector<double>, 4> part_calibration_;
  Spot evidence_spot_;
  bool combines_evidence() const;  // fitted with heads.ad_combine=evidence where more than one part decides
  // What the AD kNN and the AD partition read of a slice of the AD view (options_.ad_layer).
  const std::vector<float>& ad_vector(const SliceEmbedding& e) const {
    return options_.ad_layer == "encodings" && !e.encodings.empty() ? e.encodings : e.state;
  }
  // The same for a slice to score: ModelError where its length is not what the fitted kNN reads.
  const std::vector<float>& fitted_ad_vector(const SliceEmbedding& e) const;
  bool triage_fitted_ = false;
  std::string triage_kind_ = "delta";
  TriageHead triage_;
  int rcl_variant_ = kUnsupervised;
  size_t rcl_extra_ = 0;  // evidence features appended after the embedding features
  bool rcl_metric_ = false, rcl_trace_ = false;
  LearnedRcaHead rcl_head_;
  nlohmann::json info_;
};

// Slices (positions) whose [start, end) lies inside [a, b); `slices` in time order.
std::vector<size_t> slices_within(const std::vector<SliceEmbedding>& slices, TimeUs a, TimeUs b);

}  // namespace rslicer
