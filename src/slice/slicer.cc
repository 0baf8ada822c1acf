#include <algorithm>
#include <iterator>
#include <numeric>
#include <type_traits>
#include <cmath>
#include <deque>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "core/flat_set.h"
#include "core/hash.h"
#include "core/progress.h"
#include "slice/slice.h"

namespace rslicer {

const std::vector<EntityView>& Slice::entities() const {
  if (entity_views_built_) return entity_views_;
  std::unordered_map<Id, size_t> pos;
  auto view = [&](Id e) -> EntityView& {
    auto it = pos.find(e);
    if (it != pos.end()) return entity_views_[it->second];
    pos.emplace(e, entity_views_.size());
    entity_views_.push_back(EntityView{e, {}, {}, {}});
    return entity_views_.back();
  };
  for (std::uint32_t i = 0; i < metrics.size(); ++i) view(metrics[i].entity).metrics.push_back(i);
  for (std::uint32_t i = 0; i < spans.size(); ++i) view(spans[i].entity).spans.push_back(i);
  for (std::uint32_t i = 0; i < logs.size(); ++i) view(logs[i].entity).logs.push_back(i);
  std::sort(entity_views_.begin(), entity_views_.end(),
            [](const EntityView& a, const EntityView& b) { return a.entity < b.entity; });
  entity_views_built_ = true;
  return entity_views_;
}

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Span and trace ids: hashed in the per-record path (std::hash<std::string>
// was 7 % of slicing time, byte-wise FNV-1a still 6 %).
std::uint64_t id_hash(std::string_view s) { return hash_bytes(s); }

std::uint64_t mix(std::uint64_t h, std::uint64_t v) { return hash_combine(h, v); }

}  // namespace

// Duplicate filter state. Spans: keys of recently seen spans in arrival
// order; keys whose span is older than the horizon are pruned from the front
// (amortised O(1)). Metric points: per series (entity, KPI) the sorted times
// seen within the horizon, found by direct indexing: 6 million points pass
// here on TrainTicket and a hash probe per point was 13 % of slicing.
struct Slicer::DedupState {
  FlatU64Set seen{1024};  // grows with the spans of one horizon; small stays in cache
  std::deque<std::pair<TimeUs, std::uint64_t>> order;
  struct Seen {
    TimeUs time;
    double value;
    bool operator<(TimeUs t) const { return time < t; }
  };
  std::vector<std::vector<std::vector<Seen>>> series;  // [entity][kpi] -> recent points, ascending time

  // Whether a point of the series at this time was seen; `conflict` when its value differed.
  bool metric_seen(const MetricPoint& m, TimeUs horizon, bool& conflict) {
    if (m.entity >= series.size()) series.resize(m.entity + 1);
    auto& by_kpi = series[m.entity];
    if (m.kpi >= by_kpi.size()) by_kpi.resize(m.kpi + 1);
    std::vector<Seen>& seen = by_kpi[m.kpi];
    if (seen.empty() || m.time > seen.back().time) {  // the usual case: the series moves forward
      size_t old = 0;
      while (old < seen.size() && seen[old].time < m.time - horizon) ++old;
      seen.erase(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(old));
      seen.push_back({m.time, m.value});
      return false;
    }
    auto it = std::lower_bound(seen.begin(), seen.end(), m.time);
    if (it != seen.end() && it->time == m.time) {
      conflict = !(it->value == m.value);
      return true;
    }
    if (m.time >= seen.back().time - horizon) seen.insert(it, {m.time, m.value});  // out of order, inside the horizon
    return false;
  }
};

const config::Schema<SliceOptions>& SliceOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<SliceOptions>("slice")
          .num("window_len_s", &SliceOptions::window_len_s, "W: slice length in seconds", Range::above(0))
          .num("window_stride_s", &SliceOptions::window_stride_s, "S: slice stride in seconds", Range::above(0))
          .num("allowed_lateness_s", &SliceOptions::allowed_lateness_s,
               "records may arrive this much behind the newest one", Range::at_least(0))
          .flag("emit_empty", &SliceOptions::emit_empty, "emit windows with no record at all")
          .flag("trim_edges", &SliceOptions::trim_edges,
                "skip the partial windows that reach past the data's first or last record or into a gap of at "
                "least window_len_s (their records are all in kept windows)")
          .num("dedup_horizon_s", &SliceOptions::dedup_horizon_s,
               "duplicate records within this horizon are dropped and counted", Range::at_least(0))
          .num("max_future_skew_s", &SliceOptions::max_future_skew_s,
               "a record this far ahead of the data's time is held aside until jump_confirm_records others "
               "confirm the jump, else dropped as a clock outlier; <= 0: no check")
          .num("jump_confirm_records", &SliceOptions::jump_confirm_records,
               "records that confirm (or refute) a jump in time beyond max_future_skew_s", Range::closed(1, 1000000))
          .rule([](const SliceOptions& o, const std::string&) {
            RSLICER_CHECK(o.window_stride_s <= o.window_len_s, InvalidInput, "slice.window_stride_s (",
                          o.window_stride_s, ") must not exceed slice.window_len_s (", o.window_len_s,
                          "): records between windows would be lost");
          });
  return s;
}

Slicer::Slicer(SliceOptions options, std::vector<FaultEvent> faults, Sink sink)
    : options_(options), faults_(std::move(faults)), sink_(std::move(sink)), dedup_(std::make_unique<DedupState>()) {
  SliceOptions::schema().validate(options_);
  window_len_ = static_cast<TimeUs>(std::llround(options_.window_len_s * kUsPerSecond));
  window_stride_ = static_cast<TimeUs>(std::llround(options_.window_stride_s * kUsPerSecond));
  RSLICER_CHECK(window_len_ > 0 && window_stride_ > 0, InvalidInput, "window_len_s and window_stride_s must be at least 1 us");
  pane_len_ = std::gcd(window_len_, window_stride_);
  lateness_ = static_cast<TimeUs>(std::llround(options_.allowed_lateness_s * kUsPerSecond));
  dedup_horizon_ = static_cast<TimeUs>(std::llround(options_.dedup_horizon_s * kUsPerSecond));
  skew_ = options_.max_future_skew_s > 0 ? static_cast<TimeUs>(std::llround(options_.max_future_skew_s * kUsPerSecond))
                                         : 0;
  std::sort(faults_.begin(), faults_.end(), [](const FaultEvent& a, const FaultEvent& b) { return a.start < b.start; });
}

Slicer::~Slicer() = default;

bool Slicer::is_duplicate(const MetricPoint& m, std::uint64_t) {
  bool conflict = false;
  if (dedup_horizon_ <= 0 || !dedup_->metric_seen(m, dedup_horizon_, conflict)) return false;
  stats_.conflicts += conflict;
  return true;
}

bool Slicer::is_duplicate(const Span& s, std::uint64_t span_hash) {
  if (dedup_horizon_ <= 0 || s.span_id.empty()) return false;
  std::uint64_t key = mix(mix(2, id_hash(s.trace_id)), span_hash);
  if (key == 0) key = 1;  // 0 marks empty slots
  if (!dedup_->seen.insert(key)) return true;
  const TimeUs t = s.start;
  dedup_->order.emplace_back(t, key);
  const TimeUs newest = std::max(max_time_, t);
  while (!dedup_->order.empty() && dedup_->order.front().first < newest - dedup_horizon_) {
    dedup_->seen.erase(dedup_->order.front().second);
    dedup_->order.pop_front();
  }
  return false;
}

void Slicer::push(Record&& record) {
  const TimeUs t = record_time(record);
  if (unguarded(t)) push_record(std::move(record), t);
  else push_guarded(std::move(record), t);
}

void Slicer::push(MetricPoint&& point) {
  const TimeUs t = point.time;
  if (unguarded(t)) push_typed(std::move(point), t);
  else push_guarded(Record(std::move(point)), t);
}

void Slicer::push(Span&& span) {
  const TimeUs t = span.start;
  if (unguarded(t)) push_typed(std::move(span), t);
  else push_guarded(Record(std::move(span)), t);
}

void Slicer::push(LogRecord&& log) {
  const TimeUs t = log.time;
  if (unguarded(t)) push_typed(std::move(log), t);
  else push_guarded(Record(std::move(log)), t);
}

void Slicer::push_record(Record&& record, TimeUs t) {
  switch (record.index()) {
    case 0: push_typed(std::move(std::get<MetricPoint>(record)), t); break;
    case 1: push_typed(std::move(std::get<Span>(record)), t); break;
    default: push_typed(std::move(std::get<LogRecord>(record)), t); break;
  }
}

// The bad-clock guard. Time is the newest accepted record's (max_time_), so
// one record from a clock years ahead would close every window before it and
// make all later records late. Such a record is held aside: the data's time
// moves to it only when jump_confirm_records records far ahead arrive before
// as many ordinary ones (a gap in the data: the next day of a dataset, a
// stream resumed after an outage); when the ordinary ones win, the held
// records are dropped as clock outliers. The first records have no time to
// compare with: they wait until jump_confirm_records of them give a median.
// Fewer than kMinJudged records are never judged (a sparse input is not a
// bad clock).
constexpr size_t kMinJudged = 8;

void Slicer::push_guarded(Record&& record, TimeUs t) {
  const size_t confirm = static_cast<size_t>(options_.jump_confirm_records);
  if (!started_) {
    startup_.emplace_back(t, std::move(record));
    if (startup_.size() >= confirm) settle_startup();
    return;
  }
  if (t - max_time_ > skew_) {
    held_.emplace_back(t, std::move(record));
    if (held_.size() >= confirm) resolve_held(true);
    return;
  }
  push_record(std::move(record), t);
  if (++ordinary_since_hold_ >= static_cast<std::int64_t>(confirm)) resolve_held(false);
}

void Slicer::settle_startup() {
  started_ = true;
  auto first = std::move(startup_);
  startup_.clear();
  if (first.empty()) return;
  const bool judge = first.size() >= kMinJudged;
  std::vector<TimeUs> times;
  for (const auto& [t, r] : first) times.push_back(t);
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  const TimeUs median = times[times.size() / 2];
  for (auto& [t, r] : first) {  // in arrival order: their disorder is the slicer's to judge, as for any record
    if (judge && t < median - skew_) {
      drop_outlier(r, t, median);  // far behind most of the first records: a clock years back
    } else if (judge && t - median > skew_) {
      held_.emplace_back(t, std::move(r));  // far ahead: confirmed or refuted by what comes next
    } else {
      push_record(std::move(r), t);
    }
  }
}

void Slicer::resolve_held(bool accept) {
  auto held = std::move(held_);
  held_.clear();
  ordinary_since_hold_ = 0;
  if (!accept) {
    for (auto& [t, r] : held) drop_outlier(r, t, max_time_);
    return;
  }
  ++stats_.time_jumps;
  std::stable_sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  push_record(std::move(held.front().second), held.front().first);  // time moves to the earliest of them
  for (size_t i = 1; i < held.size(); ++i) push(std::move(held[i].second));
}

void Slicer::drop_outlier(const Record& record, TimeUs t, TimeUs reference) {
  ++stats_.records_in;
  ++stats_.clock_outliers;
  if (stats_.outlier_examples.size() < 10)
    stats_.outlier_examples.push_back(cat(modality_name(record_modality(record)), " record at ", format_time(t),
                                          " while the data's time was ", format_time(reference),
                                          " (max_future_skew_s ", options_.max_future_skew_s, ")"));
}

template <typename R>
void Slicer::push_typed(R&& record, TimeUs t) {
  ++stats_.records_in;
  std::uint64_t span_hash = 0;  // spans: their id's hash, for the duplicate filter and the orphan count
  if constexpr (std::is_same_v<R, Span>) span_hash = id_hash(record.span_id);
  if (is_duplicate(record, span_hash)) {
    ++stats_.duplicates;
    return;
  }
  if (max_time_ == INT64_MIN || t < stats_.first_time) stats_.first_time = t;
  if (max_time_ == INT64_MIN || t > stats_.last_time) stats_.last_time = t;
  max_time_ = std::max(max_time_, t);
  constexpr Modality m = std::is_same_v<R, MetricPoint> ? Modality::kMetrics
                         : std::is_same_v<R, Span>      ? Modality::kTraces
                                                        : Modality::kLogs;
  if (Pane* pane = pane_for(t, m)) {
    pane->lo = std::min(pane->lo, t);
    pane->hi = std::max(pane->hi, t);
    if constexpr (m == Modality::kMetrics) {
      pane->metrics.push_back(std::move(record));
    } else if constexpr (m == Modality::kTraces) {
      pane->span_keys.emplace_back(span_hash | 1,
                                   record.parent_id.empty() ? 0 : id_hash(record.parent_id) | 1);
      pane->spans.push_back(std::move(record));
    } else {
      pane->logs.push_back(std::move(record));
    }
  }
  // Every window ending at or before the watermark is complete.
  const TimeUs watermark = max_time_ - lateness_;
  const std::int64_t closed_hi = floor_div(watermark - window_len_, window_stride_);
  if (closed_hi >= next_index_) emit_until(closed_hi);
}

Slicer::Pane* Slicer::pane_for(TimeUs t, Modality m) {
  // Windows k with k*S <= t < k*S + W.
  const std::int64_t k_hi = floor_div(t, window_stride_);
  const std::int64_t k_lo = floor_div(t - window_len_, window_stride_) + 1;
  if (k_lo < next_index_) {  // some of its windows were emitted already
    ++stats_.late_records;
    if (stats_.late_examples.size() < 10)
      stats_.late_examples.push_back(cat(modality_name(m), " record at ", format_time(t), " arrived after ",
                                         format_time(max_time_), " (allowed lateness ", options_.allowed_lateness_s,
                                         " s)"));
    if (k_hi < next_index_) return nullptr;  // all of them: nowhere to put it
  }
  const std::int64_t p = floor_div(t, pane_len_);
  if (p != cached_pane_index_) {
    auto [it, fresh] = panes_.try_emplace(p);
    if (fresh && !spare_panes_.empty()) {
      it->second = std::move(spare_panes_.back());
      spare_panes_.pop_back();
    }
    cached_pane_ = &it->second;  // std::map nodes are stable until erased
    cached_pane_index_ = p;
  }
  return cached_pane_;
}

void Slicer::emit_until(std::int64_t closed_hi) {
  while (!panes_.empty()) {
    const std::int64_t p0 = panes_.begin()->first;
    const std::int64_t first = floor_div(p0 * pane_len_ - window_len_, window_stride_) + 1;
    const std::int64_t k = std::max(next_index_, first);  // the next window that holds a record
    if (k > closed_hi) break;
    emit_window(k);
  }
  if (closed_hi != INT64_MAX) next_index_ = std::max(next_index_, closed_hi + 1);
}

// A run of records is a stretch without a gap of window_len_ or more, so no window holds records of two runs. Of
// the windows holding a run's records, the kept ones are those from kfirst (starting in the stride slot of the
// run's first record F) to klast (ending in the slot of its last record L): floor(F / S) <= k <= floor((L - W) / S)
// + 1, or the single window kfirst when the run is too short for that range (it then holds the whole run). Every
// record of the run is in a kept window; the windows before kfirst and after klast hold a subset of its records.
bool Slicer::at_edge(std::int64_t k, std::int64_t p_lo, std::int64_t p_hi) {
  TimeUs first = INT64_MAX, last = INT64_MIN;
  for (auto it = panes_.lower_bound(p_lo); it != panes_.end() && it->first < p_hi; ++it) {
    first = std::min(first, it->second.lo);
    last = std::max(last, it->second.hi);
  }
  if (first == INT64_MAX) return false;
  // Every record before this window is in a pane let go already (their last window is before k).
  if (passed_max_ == INT64_MIN || first - passed_max_ >= window_len_) run_start_ = first;
  const std::int64_t kfirst = floor_div(run_start_, window_stride_);
  if (k < kfirst) return true;
  // The run ends in this window when the next record (in a later pane; none at the end of the input) is a gap away.
  auto next = panes_.lower_bound(p_hi);
  const bool run_ends = next == panes_.end() || next->second.lo - last >= window_len_;
  if (!run_ends) return false;
  const std::int64_t klast = floor_div(last - window_len_, window_stride_) + 1;
  return k > std::max(klast, kfirst);
}

void Slicer::emit_window(std::int64_t k) {
  const std::int64_t p_lo = floor_div(k * window_stride_, pane_len_);
  const std::int64_t p_hi = p_lo + window_len_ / pane_len_;  // exclusive
  // The pane's last window is the one starting at or before it; there it is let go (emptied, kept for reuse).
  auto last_window_of = [&](std::int64_t pane) { return floor_div(pane * pane_len_, window_stride_) <= k; };
  auto let_go = [&](std::map<std::int64_t, Pane>::iterator it) {
    Pane& pane = it->second;
    if (it->first == cached_pane_index_) cached_pane_index_ = INT64_MIN;
    passed_max_ = std::max(passed_max_, pane.hi);
    pane.lo = INT64_MAX;
    pane.hi = INT64_MIN;
    pane.metrics.clear();
    pane.spans.clear();
    pane.span_keys.clear();
    pane.logs.clear();
    if (spare_panes_.size() < 8) spare_panes_.push_back(std::move(pane));
    return panes_.erase(it);
  };
  if (options_.trim_edges && !options_.emit_empty && at_edge(k, p_lo, p_hi)) {
    // Its records are in kept windows: let go of the panes whose last window this is.
    for (auto it = panes_.lower_bound(p_lo); it != panes_.end() && it->first < p_hi && last_window_of(it->first);)
      it = let_go(it);
    ++stats_.edge_windows;
    last_emitted_ = k;  // not an empty window
    next_index_ = std::max(next_index_, k + 1);
    return;
  }
  if (last_emitted_ != INT64_MIN && k > last_emitted_ + 1) {
    const std::int64_t gap = k - last_emitted_ - 1;
    stats_.empty_windows += gap;
    if (options_.emit_empty) {
      for (std::int64_t e = last_emitted_ + 1; e < k; ++e) {
        Slice empty;
        empty.index = e;
        empty.start = e * window_stride_;
        empty.end = empty.start + window_len_;
        finalize(empty, {});
        ++stats_.slices;
        sink_(std::move(empty));
      }
    }
  }
  Slice s;
  s.index = k;
  s.start = k * window_stride_;
  s.end = s.start + window_len_;
  auto lo = panes_.lower_bound(p_lo);
  auto hi = panes_.lower_bound(p_hi);
  size_t nm = 0, ns = 0, nl = 0;
  for (auto it = lo; it != hi; ++it) {
    nm += it->second.metrics.size();
    ns += it->second.spans.size();
    nl += it->second.logs.size();
  }
  s.metrics.reserve(nm);
  s.spans.reserve(ns);
  s.logs.reserve(nl);
  window_keys_.clear();
  for (auto it = lo; it != hi;) {
    Pane& pane = it->second;
    if (last_window_of(it->first)) {  // its last window: move instead of copying, then let it go
      std::move(pane.metrics.begin(), pane.metrics.end(), std::back_inserter(s.metrics));
      std::move(pane.spans.begin(), pane.spans.end(), std::back_inserter(s.spans));
      std::move(pane.logs.begin(), pane.logs.end(), std::back_inserter(s.logs));
      window_keys_.insert(window_keys_.end(), pane.span_keys.begin(), pane.span_keys.end());
      it = let_go(it);
    } else {
      s.metrics.insert(s.metrics.end(), pane.metrics.begin(), pane.metrics.end());
      s.spans.insert(s.spans.end(), pane.spans.begin(), pane.spans.end());
      s.logs.insert(s.logs.end(), pane.logs.begin(), pane.logs.end());
      window_keys_.insert(window_keys_.end(), pane.span_keys.begin(), pane.span_keys.end());
      ++it;
    }
  }
  last_emitted_ = k;
  next_index_ = std::max(next_index_, k + 1);
  finalize(s, window_keys_);
  ++stats_.slices;
  sink_(std::move(s));
}

void Slicer::finalize(Slice& s, const std::vector<SpanKeys>& span_keys) {
  // Records mostly arrive in time order: check before paying for a sort.
  sort_by_time(s.metrics);
  sort_by_time(s.spans);
  sort_by_time(s.logs);
  if (!s.metrics.empty()) s.mask.set(Modality::kMetrics);
  if (!s.spans.empty()) s.mask.set(Modality::kTraces);
  if (!s.logs.empty()) s.mask.set(Modality::kLogs);
  if (!s.spans.empty()) {
    // Span ids by 64-bit hash (a collision could hide one orphan in 2^64: a statistic, not a decision).
    if (!span_ids_ || span_ids_->capacity() > 4 * s.spans.size() + 1024)
      span_ids_ = std::make_unique<FlatU64Set>(s.spans.size());
    else
      span_ids_->clear();
    FlatU64Set& ids = *span_ids_;
    for (const auto& [id, parent] : span_keys) ids.insert(id);
    for (const auto& [id, parent] : span_keys)
      if (parent != 0 && !ids.contains(parent)) ++stats_.orphan_spans;
  }
  for (std::uint32_t i = 0; i < faults_.size(); ++i) {
    if (faults_[i].start >= s.end) break;
    if (faults_[i].end > s.start) s.faults.push_back(i);
  }
}

void Slicer::finish() {
  if (!started_) settle_startup();
  // Records still held aside at the end were not confirmed by enough others.
  // They are dropped when the accepted records outnumber them four to one (a
  // file sorted in memory puts a 2028 row last, with nothing after it to
  // refute it); otherwise the input is too short to tell and they are kept.
  if (!held_.empty()) {
    const auto accepted = static_cast<size_t>(stats_.records_in - stats_.clock_outliers);
    resolve_held(!(accepted >= kMinJudged && accepted >= 4 * held_.size()));
  }
  emit_until(INT64_MAX);
}

SliceStats slice_source(TelemetrySource& source, const SliceOptions& options,
                        const std::function<void(Slice&&)>& sink, const RecordHooks& hooks, bool show_progress) {
  Slicer slicer(options, source.faults(), sink);
  auto stream = source.open();
  if (options.read_ahead) stream = std::make_unique<PrefetchStream>(std::move(stream));
  Progress progress("reading", -1, show_progress);
  RecordBatch batch;
  std::int64_t n = 0, next_report = 1 << 16;
  while (stream->next_batch(batch)) {
    n += static_cast<std::int64_t>(batch.size());
    if (hooks.metric)
      for (auto& m : batch.metrics) hooks.metric(m);
    if (hooks.span)
      for (auto& sp : batch.spans) hooks.span(sp);
    if (hooks.log)
      for (auto& l : batch.logs) hooks.log(l);
    for_each_in_time_order(batch, [&](auto&& r) { slicer.push(std::move(r)); });
    if (n >= next_report) {
      progress.update(n, cat(n, " records, ", slicer.stats().slices, " slices"));
      next_report = n + (1 << 16);
    }
  }
  slicer.finish();
  progress.finish(cat(n, " records, ", slicer.stats().slices, " slices"));
  return slicer.stats();
}

}  // namespace rslicer
