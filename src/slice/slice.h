// Runtime slices: windows [start, start + window_len) advancing by
// window_stride over all modalities, each with a system view (all records),
// per-entity views, a modality mask and the fault labels that overlap it.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <memory>
#include <vector>

#include "core/config.h"
#include "core/flat_set.h"
#include "telemetry/record.h"
#include "telemetry/stream.h"

namespace rslicer {

struct SliceOptions {
  double window_len_s = 180;      // W: three metric intervals, so a slice sees a trend, and overlapping slices exist for L_temp
  double window_stride_s = 60;    // S: one decision per minute, the metric interval of TrainTicket and AIOps 2022
  double allowed_lateness_s = 120;  // records may arrive this much behind the newest one (per-file disorder)
  bool emit_empty = false;        // emit windows with no record at all (gaps between days are skipped by default)
  // Windows that reach past the data's first or last record, or past the edge of a gap of at least window_len_s
  // without any record, hold only part of a window's worth of data; their lower counts look like an anomaly.
  // They are not emitted (and counted): each edge keeps the one window that starts in the stride holding the first
  // record, and the one that ends in the stride holding the last. Their records are all in kept windows.
  bool trim_edges = true;
  double dedup_horizon_s = 600;   // duplicate records (same key and time) within this horizon are dropped and counted
  // One bad clock must not move time: a record more than max_future_skew_s
  // ahead of the newest accepted time (or of the median of the first
  // jump_confirm_records records) is held aside. It moves time only when
  // jump_confirm_records such records arrive before as many ordinary ones (a
  // real gap in the data, such as the next day of a dataset); otherwise the
  // held records are dropped and counted as clock outliers, as are the first
  // records far behind the median of the first ones. At the end of the input,
  // held records are dropped when the accepted ones outnumber them 4 to 1.
  // Inputs of fewer than 8 records are not judged. <= 0: no check.
  double max_future_skew_s = 86400;
  int jump_confirm_records = 32;
  bool read_ahead = false;        // parse on a second thread (slice_source); only for sinks that do not read the
                                  // source's Catalog/stats while slicing (see PrefetchStream); not a config field
  static const config::Schema<SliceOptions>& schema();
};

// Which modalities a slice has.
struct ModalityMask {
  std::uint8_t bits = 0;
  bool has(Modality m) const { return bits & (1u << static_cast<int>(m)); }
  void set(Modality m) { bits |= static_cast<std::uint8_t>(1u << static_cast<int>(m)); }
  int count() const { return __builtin_popcount(bits); }
};

// Indices into a Slice's record vectors for one entity.
struct EntityView {
  Id entity = kNoId;
  std::vector<std::uint32_t> metrics;
  std::vector<std::uint32_t> spans;
  std::vector<std::uint32_t> logs;
};

struct Slice {
  std::int64_t index = 0;  // window number: start = index * stride (epoch-aligned)
  TimeUs start = 0;
  TimeUs end = 0;          // exclusive
  std::vector<MetricPoint> metrics;  // sorted by time
  std::vector<Span> spans;           // sorted by start
  std::vector<LogRecord> logs;       // sorted by time
  ModalityMask mask;
  std::vector<std::uint32_t> faults;  // indices into the dataset's fault list that overlap [start, end)

  // Per-entity views, sorted by entity id (built once, on first call).
  const std::vector<EntityView>& entities() const;

 private:
  mutable std::vector<EntityView> entity_views_;
  mutable bool entity_views_built_ = false;
};

// Counters of what the slicer did with records.
struct SliceStats {
  std::int64_t slices = 0;           // emitted
  std::int64_t empty_windows = 0;    // windows skipped because they had no record
  std::int64_t edge_windows = 0;     // partial windows at the data's edges (trim_edges): skipped, records kept
  std::int64_t late_records = 0;     // arrived after their windows were emitted: counted, dropped
  std::int64_t duplicates = 0;       // same record key seen again within dedup_horizon_s: counted, dropped
  std::int64_t conflicts = 0;        // of those, metric points whose value differs from the first one's (two
                                     // sources under one entity and KPI name): counted apart, dropped
  std::int64_t orphan_spans = 0;     // spans whose parent is not in the same slice (kept; treated as roots)
  std::int64_t clock_outliers = 0;   // more than max_future_skew_s from the data's time, never confirmed: dropped
  std::int64_t time_jumps = 0;       // confirmed jumps ahead by more than max_future_skew_s (gaps in the data)
  std::int64_t records_in = 0;
  std::vector<std::string> late_examples;     // first few late records: modality, time, newest time seen
  std::vector<std::string> outlier_examples;  // first few clock outliers: modality, time, the data's time then
  TimeUs first_time = 0, last_time = 0;
};

// Streaming slicer: memory is bounded by the open windows (window_len +
// allowed_lateness of records), not by the dataset. Records are stored once,
// in panes of gcd(window_len, window_stride); a window is assembled from its
// panes when it closes (copied, or moved for the last window of a pane).
class Slicer {
 public:
  using Sink = std::function<void(Slice&&)>;
  Slicer(SliceOptions options, std::vector<FaultEvent> faults, Sink sink);
  ~Slicer();

  void push(Record&& record);
  void push(MetricPoint&& point);
  void push(Span&& span);
  void push(LogRecord&& log);
  void finish();  // flushes every open window
  const SliceStats& stats() const { return stats_; }
  const std::vector<FaultEvent>& faults() const { return faults_; }

 private:
  // Hashes of a span's id and its parent's id (0: a root), computed once
  // per span rather than once per window for the orphan count.
  using SpanKeys = std::pair<std::uint64_t, std::uint64_t>;
  struct Pane {
    std::vector<MetricPoint> metrics;
    std::vector<Span> spans;
    std::vector<SpanKeys> span_keys;  // parallel to spans
    std::vector<LogRecord> logs;
    TimeUs lo = INT64_MAX, hi = INT64_MIN;  // its records' earliest and latest times
  };
  template <typename R>
  void push_typed(R&& record, TimeUs t);
  bool unguarded(TimeUs t) const {  // the usual case: no bad-clock decision pending, t not far ahead
    return skew_ <= 0 || (started_ && held_.empty() && t - max_time_ <= skew_);
  }
  void push_guarded(Record&& record, TimeUs t);  // the bad-clock guard (max_future_skew_s) in front of push_typed
  void push_record(Record&& record, TimeUs t);   // straight to push_typed
  void settle_startup();                         // the first records: time from their median
  void resolve_held(bool accept);                // push or drop the records held aside
  void drop_outlier(const Record& record, TimeUs t, TimeUs reference);
  Pane* pane_for(TimeUs t, Modality m);  // null when every window of t was emitted (the record is dropped)
  void emit_until(std::int64_t closed_hi);  // emits every window <= closed_hi that holds a record
  void emit_window(std::int64_t k);
  bool at_edge(std::int64_t k, std::int64_t p_lo, std::int64_t p_hi);  // trim_edges: whether window k is partial
  void finalize(Slice& s, const std::vector<SpanKeys>& span_keys);
  // `span_hash`: id_hash(span_id) for spans (computed once per span), unused otherwise.
  bool is_duplicate(const MetricPoint& m, std::uint64_t span_hash);  // counts conflicts
  bool is_duplicate(const Span& s, std::uint64_t span_hash);
  bool is_duplicate(const LogRecord&, std::uint64_t) { return false; }  // identical log lines are legitimate (a loop logging the same text)

  SliceOptions options_;
  TimeUs window_len_, window_stride_, pane_len_, lateness_, dedup_horizon_;
  std::vector<FaultEvent> faults_;
  Sink sink_;
  std::map<std::int64_t, Pane> panes_;  // by pane number: pane p holds [p * pane_len_, (p + 1) * pane_len_)
  std::vector<Pane> spare_panes_;       // emptied panes, reused for their capacity
  std::int64_t cached_pane_index_ = INT64_MIN;
  Pane* cached_pane_ = nullptr;
  std::int64_t next_index_ = INT64_MIN;  // windows below this were emitted (or closed empty)
  std::int64_t last_emitted_ = INT64_MIN;
  TimeUs max_time_ = INT64_MIN;
  TimeUs passed_max_ = INT64_MIN;  // latest time of the records in panes already let go (all windows done)
  TimeUs run_start_ = 0;           // first record of the current run of records (between gaps of window_len_)
  SliceStats stats_;
  struct DedupState;
  std::unique_ptr<DedupState> dedup_;
  std::unique_ptr<FlatU64Set> span_ids_;  // reused by finalize() for the orphan count
  std::vector<SpanKeys> window_keys_;     // the span keys of the window being assembled
  // Bad-clock guard (max_future_skew_s): the first records until their median
  // time is known, then the records held aside as too far ahead and the
  // ordinary records seen since the first of them.
  TimeUs skew_ = 0;
  bool started_ = false;
  std::vector<std::pair<TimeUs, Record>> startup_, held_;
  std::int64_t ordinary_since_hold_ = 0;
};

// Callbacks run on each record before it is sliced (template mining,
// counting); any may be empty. Records come in batches: the calls keep the
// order within a modality, not across modalities.
struct RecordHooks {
  std::function<void(MetricPoint&)> metric;
  std::function<void(Span&)> span;
  std::function<void(LogRecord&)> log;
};

// Reads a whole source through a Slicer; calls `sink` for every slice. `progress`: a "reading" line on stderr
// (callers with their own progress line pass false).
SliceStats slice_source(TelemetrySource& source, const SliceOptions& options,
                        const std::function<void(Slice&&)>& sink, const RecordHooks& hooks = {}, bool progress = true);

}  // namespace rslicer
