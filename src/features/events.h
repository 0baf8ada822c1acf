// Event-level statistics of traces and logs, the normal profile they add up
// to, and the trace / log feature tokens of a slice as deviations from it.
//
// Per pane (one stride, e.g. one minute), per key, additive statistics:
//   operation  (entity, operation): spans, errors, duration and self-time
//              histograms, and the span's log "steps": log lines joined to
//              the span by span id, their template ids (Drain) in time order
//              (which steps occur, which consecutive step pairs, how many
//              lines, whether one is ERROR);
//   edge       (caller service -> callee entity, callee operation): calls,
//              failed calls, the start lag from the caller's span to the
//              callee's and the caller's duration minus the callee's
//              (network and queueing between them), attributed to the callee;
//   template   (entity, log template): lines, ERROR and WARN lines.
// A pane's statistics come from the spans that START in it, looked up in the
// slice whose window starts at the pane (so a span's children and log lines
// later in the window are seen), and from the log lines inside it.
//
// The profile of a key sums the panes' statistics over every pod of the
// key's service (pods are renamed, replicas behave alike); it is additive,
// so the profile of a slice is the dataset total (plus a model's saved prior)
// minus the panes around the slice ("leave-the-window-out", offline) or the
// past panes within a horizon ("causal", online). Label-free either way.
//
// Tokens: one per key of the slice, grouped per entity with a budget per
// entity that keeps the most deviant tokens (no global top-k, so a rare root
// cause cannot vanish behind frequent normal keys). Value layouts:
//   trace token [kTraceTokenDim]:
//     0 is operation, 1 is edge, 2 log1p calls in the window, 3 log rate ratio
//     vs profile, 4 z of median duration (edge: start lag), 5 z of median self
//     time (edge: caller minus callee duration), 6 error share excess,
//     7 missing expected step share excess, 8 early-end share excess,
//     9 ERROR-step share excess, 10 rare step-pair share, 11 new step share,
//     12 profile ready, 13 log1p profile samples, 14 deviation (budget order),
//     15 has steps
//   log token [kLogTokenDim]:
//     0 log1p lines, 1 log rate ratio vs profile, 2 ERROR share, 3 WARN share,
//     4 template new for the service, 5 share of the entity's lines
// z values are robust ((median - profile median) / max(IQR / 1.349, floor));
// every value is squashed (linear to 3, logarithmic beyond, clipped).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "slice/slice.h"
#include "telemetry/record.h"

namespace rslicer {

constexpr int kHistBins = 48;  // log10 bins of microseconds: 4 per decade over [1 us, 1e12 us)

// A histogram of durations in microseconds on log bins (additive; counts may be fractional).
struct LogHist {
  std::array<double, kHistBins> c{};
  double n = 0;
  void add(double us, double w = 1);
  void merge(const LogHist& o, double sign = 1);
  double quantile(double q) const;  // microseconds (bin centre, interpolated); 0 when empty
  double from_bin_of(double us) const;  // the mass in `us`'s bin and every bin above it
};

enum class EventKind : std::uint8_t { kOperation = 0, kEdge = 1, kTemplate = 2 };

// Statistics of one key (additive: pane -> window -> profile).
struct EventStats {
  double n = 0;           // spans / calls / log lines
  double errors = 0;      // error spans / failed calls / ERROR lines
  double warns = 0;       // WARN lines (templates)
  double panes = 0;       // panes that saw the key
  LogHist a, b;           // operation: duration, self time; edge: start lag, caller minus callee duration
  double with_steps = 0;  // spans with at least one log line
  double error_step = 0;  // spans with an ERROR/FATAL line
  std::array<double, 16> lines{};  // spans judged on their steps by number of log lines (15+ in the last bin)
  std::vector<std::pair<std::uint64_t, double>> steps;  // step -> spans containing it (sorted by step)
  std::vector<std::pair<std::uint64_t, double>> pairs;  // consecutive step pair -> spans containing it (sorted)
  void merge(const EventStats& o, double sign = 1);
  bool empty() const { return n <= 1e-9; }
  double judged() const;  // spans judged on their steps: the sum of `lines`
};

// A key of one pane: the entity the token is about and the profile key.
struct PaneEvent {
  EventKind kind = EventKind::kOperation;
  Id entity = kNoId;       // pod / entity (the callee for edges)
  std::uint64_t key = 0;   // profile key (by service), see EventSummarizer
  EventStats stats;
  Id caller = kNoId;       // edges: the caller's service (part of the key)
};

struct PaneSummary {
  TimeUs start = 0;                 // the pane [start, start + stride)
  std::vector<PaneEvent> events;    // sorted by (entity, key)
};

// The normal profile: statistics per key summed over panes.
class EventProfile {
 public:
  void add(const PaneSummary& pane, double sign = 1);
  void merge(const EventProfile& other, double sign = 1);
  const EventStats* find(std::uint64_t key) const;
  double panes() const { return panes_; }
  size_t keys() const { return stats_.size(); }
  // How many of `starts` (pane starts, ascending) are panes of this profile: data that overlaps the period a
  // saved profile was built from would count those panes twice. 0 for profiles saved before pane starts were.
  size_t overlap(const std::vector<TimeUs>& starts) const;
  nlohmann::json to_json() const;
  static EventProfile from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  std::unordered_map<std::uint64_t, EventStats> stats_;
  double panes_ = 0;
  std::vector<TimeUs> starts_;  // starts of the panes in the profile, ascending
};

struct EventOptions {
  // loo: all panes but those around the slice (offline); causal: past panes only (online); reference: only the
  // panes that start inside `reference` (a period known to be normal, e.g. Nezha's fault-free minute)
  std::string profile = "loo";
  std::string reference;              // reference: "START/END[,START/END...]", ISO-8601 times (UTC without offset)
  double exclusion_s = 300;           // loo: panes within this of the slice window are left out of its profile
  double horizon_s = 86400;           // causal: panes older than this leave the profile
  std::int32_t min_samples = 3;       // fewer window or profile samples of a statistic: its deviation is 0 (unknown)
  // time statistics (call lags, durations): the calls a window needs for a z when fewer than min_samples (0 = the
  // same); a z from n < min_samples calls shrinks by sqrt(n / min_samples). 1 helps where traces are sampled
  // and costs where they are complete (docs/results.md, "Sampled traces"). -1 (auto): chosen from the data by
  // FeatureExtractor::finish() (1 where at least `sparse_edge_share` of the windows' call edges have fewer than
  // min_samples calls, else 0); the resolved value is what a model saves
  std::int32_t min_window_samples = -1;
  double sparse_edge_share = 1.0 / 3.0;
  double floor_us = 1000;             // robust scale floor of time z values (1 ms)
  double rel_floor = 0.1;             // and as a share of the profile median
  double expected_step = 0.9;         // a step is expected when this share of the profile's spans have it
  double rare_pair = 0.01;            // a step pair is rare below this share of the profile's spans
  // time z values (a call edge's start lag and caller-minus-callee time, a span's duration and self time) also
  // from the slice's latest pane alone, scaled by sqrt(pane count / window count) (the same spread without a
  // fault); the larger counts, so a fault in its first minute shows before its calls are most of the window
  bool latest_pane = true;
  // what an alarm may rest on (EventDeviation::alarm_z_a / alarm_z_b): a time z (call lag and wait, span duration
  // and self time) counts in full only where the chance that the median of as many calls drawn from the profile
  // lies in its histogram bin or above is below this normal tail; below it the z is at most that chance's z. One
  // slow call among hundreds or a few thousand normal ones is no fault, however many IQRs it lies from the median
  // (the robust z scales a lone call by the spread of single calls, so a rare slow call reads as z 100, as a real
  // delay does). Counted for windows of up to 64 calls (more pass). A lone call that no profile call matched
  // passes from about 16,000 profile calls on (its chance 0.5 / (n + 1) is below z 4's). Root cause ranking
  // keeps the robust z: once a fault is known, the one slow call of sampled traces is the best evidence there is.
  // 0: off (the alarm z is the robust z)
  double median_tail_z = 4;
  // a client span without a child span elsewhere that names its callee (Span::peer) is a call into that callee
  bool client_span_peers = true;
  // a span whose call into another entity failed (that entity's span is an error, or a client span naming
  // another service is) counts under its own operation key ("<operation> (a call failed)"), and its ERROR and
  // WARN lines not as its templates' errors: a failure shows at every caller up the chain, and only the entity
  // where it starts should carry it as its own log steps
  bool split_failed_calls = true;
  // with split_failed_calls: the log steps of such a span (which steps, ERROR steps, an early end) count for its
  // entity too; off, they do not: a caller logging its callee's failure says which call failed, not what is
  // wrong with the caller, and the failed call itself is the callee's (its edge's errors)
  bool failed_call_steps = true;
  // the operations of a span's direct child spans in its entity (inner and client spans) are steps of its
  // pattern beside its log lines ("<mark>service operation"): a span that stops calling what it normally calls
  // (an exception thrown before the calls) shows as an expected step missing without any log
  bool child_steps = false;
  // spans are judged on their log steps only where logs were being collected: in a 10-s stretch of the slice
  // where far fewer spans than in the slice's other stretches with log lines have a line joined (log collection
  // starting late, a gap in the log files, log files that cover only part of the traced time), before the
  // slice's first log line or after its last where spans there should have logged (a span ending after the last
  // line may have lost lines), or in a slice without any joined line, a span's missing lines say nothing about
  // its entity
  // (with child_steps every span is judged: its child spans are steps whatever the logs)
  bool log_gaps = true;
  std::int32_t trace_tokens_per_entity = 16;  // budget per entity; the most deviant tokens are kept
  std::int32_t log_tokens_per_entity = 8;
  static const config::Schema<EventOptions>& schema();
};

// The periods of EventOptions::reference, [start, end) each; throws InvalidInput naming the malformed part.
std::vector<std::pair<TimeUs, TimeUs>> reference_periods(const std::string& reference);

// Marks the call edge into a callee that has no span of its own, known from the caller's client span
// naming it (Span::peer): the edge's key reads "caller -> callee<mark>|client operation", and its second
// time (`b`) is the whole client span, the callee's work and the network together.
inline constexpr std::string_view kNamedPeerMark = " (client span)";
// Marks the operation key of the spans whose call into another entity failed (EventOptions::split_failed_calls).
inline constexpr std::string_view kFailedCallMark = " (a call failed)";

// Marks a step that is a child span's service and operation, not a log template (EventOptions::child_steps).
inline constexpr std::string_view kChildStepMark = "child span: ";

// Builds the summary of a slice's head pane.
class EventSummarizer {
 public:
  using Text = std::function<std::string(Id)>;
  // `template_text`: template id -> text (the step and template identity).
  // `options`: client_span_peers and split_failed_calls are read.
  EventSummarizer(const Catalog& catalog, Text template_text, TimeUs stride, const EventOptions& options = {});
  PaneSummary summarize(const Slice& slice);
  // Display name of a profile key (for token word pieces and evidence).
  const std::string& key_name(std::uint64_t key) const;
  const std::unordered_map<std::uint64_t, std::string>& key_names() const { return names_; }
  // Spans of the summarised head panes: judged on their log steps, and left unjudged because they lie in a gap
  // of the log collection (EventOptions::log_gaps), with the panes that held such spans.
  struct LogGaps {
    std::int64_t judged = 0, gap_spans = 0, gap_panes = 0;
  };
  const LogGaps& log_gaps() const { return log_gap_counts_; }

 private:
  std::uint64_t key_of(EventKind kind, const std::string& name);
  std::uint64_t named_step(const std::string& text);  // a step's id (never 0), its text kept as its name
  std::uint64_t step_of(Id template_id);
  std::uint64_t child_step_of(const Span& child);  // the step of a child span (kChildStepMark)
  const std::string& operation_name(Id op) const;  // "unknown" for none
  const std::string& service_name(Id entity);
  // The entity charged with a call a client span names (Span::peer): a service's only pod or instance
  // when it has exactly one (root causes are ranked among pods), else the named entity itself.
  Id callee_of_peer(Id peer);
  // The callee entity a client span names, when it is another service than the span's own; else kNoId.
  Id named_callee(const Span& s);
  const Catalog& catalog_;
  std::vector<Id> sole_pod_;  // by service entity: its only pod or instance, kNoId for none or several
  size_t sole_pod_entities_ = 0;  // catalog size sole_pod_ was built for (the catalog grows when streaming)
  Text template_text_;
  TimeUs stride_;
  bool client_span_peers_, split_failed_calls_, failed_call_steps_, child_steps_, log_gaps_;
  std::unordered_map<std::uint64_t, std::uint64_t> child_steps_of_;  // (service << 32 | operation) -> step
  std::unordered_map<std::uint64_t, std::string> names_;
  std::unordered_map<Id, std::uint64_t> steps_;
  LogGaps log_gap_counts_;
};

// One key's deviation from its profile (the token values before squashing), for tokens and evidence.
struct EventDeviation {
  EventKind kind = EventKind::kOperation;
  Id entity = kNoId;
  std::uint64_t key = 0;
  double n = 0, rate_ratio = 0;        // calls / spans / lines in the window; log rate ratio vs profile
  double z_a = 0, z_b = 0;             // operation: duration, self time; edge: start lag, caller minus callee
  double alarm_z_a = 0, alarm_z_b = 0;  // the same, bounded by how likely so few calls are (median_tail_z)
  double median_a = 0, normal_a = 0, median_b = 0, normal_b = 0;  // microseconds, for evidence
  double calls_a = 0, calls_b = 0;     // the values behind median_a / median_b (the window's, or its latest pane's)
  // where the median rose, the share of the calls behind it that slowed (in or above the histogram bin of the
  // geometric mean of the normal and the new median): a delay on the wire slows every call (near 1), lost packets the
  // calls that needed a retransmission (a part of them); 0 where the median did not rise
  double slow_a = 0, slow_b = 0;
  double error_excess = 0, missing = 0, early = 0, error_step = 0, rare_pair = 0, new_step = 0;
  std::uint64_t missing_step = 0;      // the expected step that went missing most
  double missing_normal = 0, missing_seen = 0;  // its share of spans in the profile and in the window
  double error_share = 0, warn_share = 0, entity_share = 0;  // templates
  bool is_new = false, ready = false, has_steps = false;
  double profile_n = 0;
  double score = 0;                    // deviation, the budget order
  Id caller = kNoId;                   // edges: the caller's service
};

// The profile statistics of a key as one slice sees them (the profile minus
// the panes left out for that slice).
using ProfileLookup = std::function<EventStats(std::uint64_t key)>;

// Deviations of every (entity, key) of a window (the merged panes of a slice) from its profile; with
// options.latest_pane, time z values that deviate more in the window's last pane keep that pane's (scaled) z.
std::vector<EventDeviation> event_deviations(const std::vector<const PaneSummary*>& window,
                                             const ProfileLookup& profile, const EventOptions& options);

// Call-edge sparsity of `panes` (time order) seen through windows [start, end) (the slices'): of the (window,
// callee, edge key) rows with at least one call, those with fewer than `min_samples` calls. A row is what
// event_deviations() scores; head-sampled or low-rate traces leave most of them short of a median.
struct EdgeSparsity {
  double rows = 0, few = 0;
  bool chose = false;  // FeatureExtractor::finish(): min_window_samples was -1 and this chose it
  double share() const { return rows > 0 ? few / rows : 0.0; }
};
EdgeSparsity edge_sparsity(const std::vector<const PaneSummary*>& panes,
                           const std::vector<std::pair<TimeUs, TimeUs>>& windows, double min_samples);

// Index of a pane's events by profile key (for subtracting panes from a profile per key).
std::unordered_map<std::uint64_t, std::vector<size_t>> index_by_key(const PaneSummary& pane);

}  // namespace rslicer
