// Text serialisation of a runtime slice, one text per modality, for the
// Qwen3 text route (docs/serialize.md has the format and examples):
//  - metrics: one line per entity with its most deviating KPIs: the window
//    level (median), the change against a rolling baseline (EWMA of the
//    points strictly before the slice's start, kept in SerializerState) and
//    the trend over the window (least-squares slope);
//  - traces: the call graph of the slice: caller -> callee operation edges
//    (caller = service of the parent span when the parent is in the slice,
//    else "root") with span counts, latency p50/p90/p99 and error counts;
//  - logs: templates with counts and levels, then a few representative
//    ERROR/WARN lines verbatim (truncated).
// Output is deterministic: the same inputs (and the same past slices fed to
// the state) give the same bytes. A modality the slice does not have gives
// an empty text (masked, never invented).
//
// Token budget per modality: lines are emitted in priority order (header
// first); when the text exceeds the budget measured by the TokenCounter,
// the lowest-priority lines are dropped and a marker "... (+N more <unit>)"
// is appended. The header line is always kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "telemetry/record.h"
#include "slice/slice.h"

namespace rslicer {

// Counts the tokens of a text. The default (approx_token_count) is a cheap
// approximation; pass Qwen3Tokenizer::encode(...).size() for exact counts.
using TokenCounter = std::function<std::size_t(std::string_view)>;
// Cheap estimate of Qwen3 BPE tokens: every ASCII digit and every ASCII
// punctuation character counts 1 (Qwen3 splits digits one by one), the other
// bytes (letters, spaces, UTF-8) count 1/4, rounded up. On the golden texts it
// is 0.97-1.4x the exact count; plain bytes/4 is 0.45-0.9x on numeric text
// (docs/serialize.md).
std::size_t approx_token_count(std::string_view text);

// Text of a log template id (DrainMiner::templates()[id].text()).
using TemplateTextFn = std::function<std::string(Id)>;

struct SerializeOptions {
  std::size_t metrics_budget = 768;   // token budget of the metrics text (header always kept)
  std::size_t traces_budget = 768;    // token budget of the traces text
  std::size_t logs_budget = 768;      // token budget of the logs text
  int max_entities = 32;              // metric entity lines at most (the most deviating ones)
  int max_kpis_per_entity = 4;        // KPIs listed per entity line (the most deviating ones)
  int max_edges = 48;                 // trace call-graph edges at most
  int max_templates = 32;             // log template lines at most
  int representative_lines = 3;       // verbatim ERROR/WARN log lines (one per template, errors first)
  int max_line_chars = 160;           // representative lines are cut here (UTF-8 safe) and end with "..."
  int max_template_chars = 120;       // template texts are cut here
  int digits = 3;                     // significant digits of every printed number
  double baseline_alpha = 0.2;        // EWMA weight of a new past point in the metric baseline
  double flat_trend = 0.05;           // |slope * window| / scale below this prints "flat"
  double spread_floor = 0.05;         // z = (level - base) / (dev + spread_floor * max(|level|, |base|)): a constant baseline does not make every change infinite
};

// Rolling metric baseline per entity x KPI. Points reach the EWMA only once
// a later slice starts after them, so the baseline of slice s holds points
// strictly before s.start (windows overlap; no peeking).
class SerializerState {
 public:
  struct Baseline {
    double ewma = 0;          // EWMA of the past points
    double dev = 0;           // EWMA of |point - ewma before it|: the usual spread, for z
    std::int64_t points = 0;  // points folded in
  };
  // Folds pending points with time < start into the baselines.
  void advance_to(TimeUs start, double alpha);
  // Queues the slice's points not queued yet (time after the last queued one).
  void add_pending(const Slice& slice);
  // Baseline of (entity, kpi); nullptr when no past point exists.
  const Baseline* baseline(Id entity, Id kpi) const;
  void clear();

 private:
  struct Key {
    Id entity, kpi;
    bool operator<(const Key& o) const { return entity != o.entity ? entity < o.entity : kpi < o.kpi; }
  };
  struct Series {
    Baseline base;
    std::vector<std::pair<TimeUs, double>> pending;  // sorted by time
    TimeUs last_queued = INT64_MIN;
  };
  std::map<Key, Series> series_;
};

// The three texts of one slice.
struct SerializedSlice {
  std::string metrics;
  std::string traces;
  std::string logs;
  const std::string& text(Modality m) const {
    return m == Modality::kMetrics ? metrics : m == Modality::kTraces ? traces : logs;
  }
};

class SliceSerializer {
 public:
  // `catalog` must outlive the serializer; `template_text` may be empty
  // (templates then print as "template <id>"); `counter` empty = approx_token_count.
  SliceSerializer(const Catalog& catalog, TemplateTextFn template_text, SerializeOptions options = {},
                  TokenCounter counter = {});

  // Serialises `slice` against the baseline of the past slices, then feeds
  // the slice to the baseline. Call in slice order.
  SerializedSlice serialize(const Slice& slice);

  // Single modalities, without touching the baseline (metrics uses the
  // baseline as it stands: call state().advance_to(slice.start, ...) first
  // for the no-peeking guarantee, as serialize() does).
  std::string metrics_text(const Slice& slice) const;
  std::string traces_text(const Slice& slice) const;
  std::string logs_text(const Slice& slice) const;

  SerializerState& state() { return state_; }
  const SerializeOptions& options() const { return options_; }
  std::size_t count_tokens(std::string_view text) const;

 private:
  const Catalog& catalog_;
  TemplateTextFn template_text_;
  SerializeOptions options_;
  TokenCounter counter_;
  SerializerState state_;
};

// Number formatting used by the serialisers: `digits` significant digits
// (printf %.*g), "-0" printed as "0", non-finite as "nan"/"inf".
std::string format_number(double v, int digits);

// One budgeted line: its text (no newline) and the unit the truncation
// marker counts when it is dropped ("entities", "edges", "templates", ...).
struct BudgetLine {
  std::string text;
  std::string unit;
};

// Joins `header` and then as many of `lines`, in order, as fit in `budget`
// tokens (each line gets a trailing '\n') together with the marker
// "... (+N more <unit>, +M more <unit2>)" for the dropped lines plus the
// `hidden` items already dropped by count limits (unit -> count). Units are
// listed in order of first appearance in `lines`, then in `hidden`. The
// header is always kept, so the budget holds whenever header + marker fit.
std::string fit_budget(const std::string& header, const std::vector<BudgetLine>& lines,
                       const std::vector<std::pair<std::string, std::size_t>>& hidden, std::size_t budget,
                       const TokenCounter& counter);

}  // namespace rslicer
