#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/errors.h"
#include "ingest/formats.h"
#include "slice/slice.h"

namespace rslicer {
namespace {

constexpr TimeUs S = kUsPerSecond;

MetricPoint metric(TimeUs t, Id e = 0, Id k = 0) { return MetricPoint{t, e, k, 1.0}; }
Span span(TimeUs t, const std::string& id, const std::string& parent = "", Id e = 1) {
  Span s;
  s.start = t;
  s.duration_us = 1000;
  s.entity = e;
  s.trace_id = "t";
  s.span_id = id;
  s.parent_id = parent;
  return s;
}

std::vector<Slice> run(const std::vector<Record>& recs, SliceOptions o, std::vector<FaultEvent> faults = {},
                       SliceStats* stats = nullptr) {
  std::vector<Slice> out;
  Slicer slicer(o, std::move(faults), [&](Slice&& s) { out.push_back(std::move(s)); });
  for (auto r : recs) slicer.push(std::move(r));
  slicer.finish();
  if (stats) *stats = slicer.stats();
  return out;
}

// The default windows: 3 minutes every minute.
SliceOptions three_minute_windows(double lateness_s = 120) {
  SliceOptions o;
  o.window_len_s = 180;
  o.window_stride_s = 60;
  o.allowed_lateness_s = lateness_s;
  return o;
}

TEST(Slicer, WindowsOverlapByStrideAndHoldRecordsInRange) {
  SliceOptions o;
  o.window_len_s = 180;
  o.window_stride_s = 60;
  o.trim_edges = false;
  std::vector<Record> recs;
  for (int m = 0; m < 6; ++m) recs.push_back(metric(1000 * 60 * S + m * 60 * S + 5 * S));
  const auto slices = run(recs, o);
  // Records at minutes 0..5 (+5 s) fall in windows starting at minutes -2..5.
  ASSERT_EQ(slices.size(), 8u);
  for (const auto& s : slices) {
    EXPECT_EQ(s.end - s.start, 180 * S);
    EXPECT_EQ(s.start % (60 * S), 0);
    for (const auto& m : s.metrics) {
      EXPECT_GE(m.time, s.start);
      EXPECT_LT(m.time, s.end);
    }
    EXPECT_TRUE(s.mask.has(Modality::kMetrics));
    EXPECT_FALSE(s.mask.has(Modality::kTraces));
  }
  EXPECT_EQ(slices[2].metrics.size(), 3u);  // a full window sees three minutes
  for (size_t i = 1; i < slices.size(); ++i) EXPECT_EQ(slices[i].start - slices[i - 1].start, 60 * S);
}

// The records of `slices`, by time (each once).
std::set<TimeUs> record_times(const std::vector<Slice>& slices) {
  std::set<TimeUs> t;
  for (const auto& s : slices)
    for (const auto& m : s.metrics) t.insert(m.time);
  return t;
}

TEST(Slicer, PartialWindowsAtTheDataEdgesAreSkippedAndTheirRecordsKept) {
  SliceOptions o = three_minute_windows();
  // Two runs of six minutes, 14 minutes apart (a gap longer than a window), and a record alone.
  std::vector<Record> recs;
  std::set<TimeUs> times;
  for (int m : {0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24, 25, 40}) {
    const TimeUs t = 1000 * 60 * S + m * 60 * S + 5 * S;
    recs.push_back(metric(t));
    times.insert(t);
  }
  SliceStats st;
  const auto slices = run(recs, o, {}, &st);
  // Each run keeps the windows from the one starting at its first minute to the one ending after its last:
  // 0..3 and 20..23, each holding three minutes; the lone record keeps the one window starting at its minute.
  ASSERT_EQ(slices.size(), 9u);
  std::vector<std::int64_t> starts;
  for (const auto& s : slices) starts.push_back((s.start - 1000 * 60 * S) / (60 * S));
  EXPECT_EQ(starts, (std::vector<std::int64_t>{0, 1, 2, 3, 20, 21, 22, 23, 40}));
  for (size_t i = 0; i + 1 < slices.size(); ++i) EXPECT_EQ(slices[i].metrics.size(), 3u) << "window " << starts[i];
  EXPECT_EQ(slices.back().metrics.size(), 1u);
  EXPECT_EQ(record_times(slices), times);  // no record lost
  EXPECT_EQ(st.edge_windows, 4 + 4 + 2);   // per run two windows before its first minute and two after its last
  o.trim_edges = false;
  EXPECT_EQ(run(recs, o).size(), 8u + 8u + 3u);
}

TEST(Slicer, ARunShorterThanAWindowKeepsTheWindowHoldingAllOfIt) {
  SliceOptions o = three_minute_windows();
  const TimeUs t0 = 1000 * 60 * S + 30 * S;
  const auto slices = run({metric(t0), metric(t0 + 70 * S)}, o);
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].start, 1000 * 60 * S);
  EXPECT_EQ(slices[0].metrics.size(), 2u);
}

TEST(Slicer, TrimmingEdgesMatchesBetweenStreamingAndTheEndOfInput) {
  // Windows closed by the watermark while records stream in, and those flushed by finish(), follow one rule.
  const SliceOptions o = three_minute_windows(0);
  std::vector<Record> recs;
  for (int m = 0; m < 30; ++m) recs.push_back(metric(m * 60 * S + 7 * S));
  for (int m = 45; m < 50; ++m) recs.push_back(metric(m * 60 * S + 7 * S));
  SliceStats st;
  const auto slices = run(recs, o, {}, &st);
  ASSERT_EQ(slices.size(), 28u + 3u);
  for (const auto& s : slices) EXPECT_EQ(s.metrics.size(), 3u) << format_time(s.start);
  EXPECT_EQ(st.edge_windows, 8);
}

TEST(Slicer, SkipsEmptyWindowsAndCountsThem) {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  SliceStats st;
  const auto slices = run({metric(0), metric(600 * S)}, o, {}, &st);
  EXPECT_EQ(slices.size(), 2u);
  EXPECT_EQ(st.empty_windows, 9);
  o.emit_empty = true;
  EXPECT_EQ(run({metric(0), metric(600 * S)}, o).size(), 11u);
}

TEST(Slicer, LateRecordsAreCountedNotLost) {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  o.allowed_lateness_s = 30;
  SliceStats st;
  // 100 s is within lateness after 120 s? No: window [60,120) closes when max - 30 >= 120.
  const auto slices = run({metric(10 * S), metric(200 * S), metric(20 * S), metric(190 * S)}, o, {}, &st);
  EXPECT_EQ(st.late_records, 1);  // the 20 s record: its window closed at watermark 170 s
  EXPECT_EQ(st.late_examples.size(), 1u);
  size_t total = 0;
  for (const auto& s : slices) total += s.metrics.size();
  EXPECT_EQ(total, 3u);
}

TEST(Slicer, DisorderWithinLatenessIsAbsorbed) {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  o.allowed_lateness_s = 120;
  SliceStats st;
  const auto slices = run({metric(100 * S), metric(10 * S), metric(70 * S), metric(5 * S)}, o, {}, &st);
  EXPECT_EQ(st.late_records, 0);
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(slices[0].metrics.size(), 2u);
  EXPECT_LE(slices[0].metrics[0].time, slices[0].metrics[1].time);  // sorted inside the slice
}

TEST(Slicer, DuplicatesDroppedAndOrphansCounted) {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  SliceStats st;
  const auto slices =
      run({metric(1 * S, 3, 4), metric(1 * S, 3, 4), span(2 * S, "a"), span(3 * S, "a"), span(4 * S, "b", "a"),
           span(5 * S, "c", "zz")},
          o, {}, &st);
  EXPECT_EQ(st.duplicates, 2);  // same metric key and time; same span id
  EXPECT_EQ(st.orphan_spans, 1);
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].metrics.size(), 1u);
  EXPECT_EQ(slices[0].spans.size(), 3u);
  EXPECT_TRUE(slices[0].mask.has(Modality::kTraces));
  EXPECT_EQ(slices[0].mask.count(), 2);
}

TEST(Slicer, MetricDuplicatesAreFoundOutOfOrderAndOnlyWithinTheHorizon) {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  o.allowed_lateness_s = 3600;
  o.dedup_horizon_s = 600;
  SliceStats st;
  // Series (entity 3, kpi 4): 10 s, 20 s, 30 s, then a copy of 20 s out of
  // order (duplicate), 25 s out of order (new), 25 s again (duplicate); the
  // same times on another KPI or entity are not duplicates; 10 s again after
  // the series moved 700 s on is outside the horizon (kept, and late-free
  // thanks to the lateness allowance).
  const auto slices = run({metric(10 * S, 3, 4), metric(20 * S, 3, 4), metric(30 * S, 3, 4), metric(20 * S, 3, 4),
                           metric(25 * S, 3, 4), metric(25 * S, 3, 4), metric(20 * S, 3, 5), metric(20 * S, 2, 4),
                           metric(720 * S, 3, 4), metric(10 * S, 3, 4)},
                          o, {}, &st);
  EXPECT_EQ(st.duplicates, 2);
  size_t points = 0;
  for (const auto& s : slices) points += s.metrics.size();
  EXPECT_EQ(points, 8u);
  ASSERT_FALSE(slices.empty());
  EXPECT_TRUE(std::is_sorted(slices[0].metrics.begin(), slices[0].metrics.end(),
                             [](const MetricPoint& a, const MetricPoint& b) { return a.time < b.time; }));

  o.dedup_horizon_s = 0;  // off
  run({metric(10 * S, 3, 4), metric(10 * S, 3, 4)}, o, {}, &st);
  EXPECT_EQ(st.duplicates, 0);
}

TEST(Slicer, ConflictingMetricValuesAreCountedApartFromExactDuplicates) {
  SliceOptions o;
  SliceStats st;
  // Same entity, KPI and time: once with the same value (a file read twice), once with another (two sources).
  run({MetricPoint{0, 1, 2, 5.0}, MetricPoint{0, 1, 2, 5.0}, MetricPoint{60 * S, 1, 2, 7.0},
       MetricPoint{60 * S, 1, 2, 9.0}},
      o, {}, &st);
  EXPECT_EQ(st.duplicates, 2);
  EXPECT_EQ(st.conflicts, 1);
}

TEST(Slicer, DistinctMetricSeriesAreNeverDuplicates) {
  // Regression: the first duplicate filter hashed (entity, KPI, time) with a
  // weak combine whose collisions dropped 977 distinct points of the bundled
  // sample (which has no duplicate metric point at all).
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  std::vector<Record> recs;
  for (TimeUs t = 0; t < 30; ++t)
    for (Id e = 0; e < 60; ++e)
      for (Id k = 0; k < 25; ++k) recs.push_back(metric(t * 15 * S, e, k));
  SliceStats st;
  run(recs, o, {}, &st);
  EXPECT_EQ(st.duplicates, 0);
  EXPECT_EQ(st.records_in, static_cast<std::int64_t>(recs.size()));
}

TEST(Slicer, LabelsOverlappingFaultsAndEntityViews) {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  FaultEvent f;
  f.start = 130 * S;
  f.end = 200 * S;
  f.root_cause = "p";
  std::vector<Record> recs;
  for (int i = 0; i < 5; ++i) {
    recs.push_back(metric(i * 60 * S + S, i % 2));
    if (i == 1) recs.push_back(span(61 * S, "x", "", 7));
  }
  const auto slices = run(recs, o, {f});
  ASSERT_EQ(slices.size(), 5u);
  EXPECT_TRUE(slices[1].faults.empty());
  EXPECT_EQ(slices[2].faults, std::vector<std::uint32_t>{0});
  EXPECT_EQ(slices[3].faults, std::vector<std::uint32_t>{0});
  EXPECT_TRUE(slices[4].faults.empty());
  const auto& views = slices[1].entities();
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].entity, 1u);
  EXPECT_EQ(views[0].metrics.size(), 1u);
  EXPECT_EQ(views[1].entity, 7u);
  EXPECT_EQ(views[1].spans.size(), 1u);
}

TEST(Slicer, MemoryStaysBoundedByTheWindow) {
  const SliceOptions o = three_minute_windows(60);
  size_t max_open_records = 0, emitted = 0;
  Slicer slicer(o, {}, [&](Slice&&) { ++emitted; });
  // 2 days of one point per second: the slicer must never hold more than a few windows.
  for (TimeUs t = 0; t < 2 * 86400; ++t) {
    slicer.push(metric(t * S, 0, static_cast<Id>(t % 7)));
    if (t % 3600 == 0) max_open_records = std::max<size_t>(max_open_records, static_cast<size_t>(t) - emitted * 60);
  }
  slicer.finish();
  EXPECT_EQ(emitted, static_cast<size_t>(2 * 1440 - 2));  // the full windows of 2880 minutes (trim_edges)
  EXPECT_LT(max_open_records, 600u);  // records not yet covered by an emitted window: ~W + lateness
}

// One bad clock must not move time (SliceOptions::max_future_skew_s).
constexpr TimeUs kT0 = 1674981660LL * S;                    // 2023-01-29T08:41:00Z
constexpr TimeUs kSixYears = 6LL * 365 * 86400 * S;

SliceOptions minute_windows() {
  SliceOptions o;
  o.window_len_s = 60;
  o.window_stride_s = 60;
  return o;
}

TEST(Slicer, OneRecordYearsAheadIsDroppedNotFollowed) {
  std::vector<Record> recs;
  for (int i = 0; i < 200; ++i) {
    recs.push_back(metric(kT0 + i * 10 * S, 0, 0));
    if (i == 100) recs.push_back(metric(kT0 + kSixYears, 0, 1));  // a TimeStamp column saying 2028
  }
  SliceStats st;
  const auto slices = run(recs, minute_windows(), {}, &st);
  EXPECT_EQ(st.clock_outliers, 1);
  EXPECT_EQ(st.late_records, 0);  // the records after it were not made late
  EXPECT_EQ(st.time_jumps, 0);
  EXPECT_EQ(st.records_in, 201);
  EXPECT_LT(st.last_time, kT0 + 86400 * S);  // the time range stays in 2023
  ASSERT_EQ(st.outlier_examples.size(), 1u);
  EXPECT_NE(st.outlier_examples[0].find("2029-01-27"), std::string::npos) << st.outlier_examples[0];
  size_t kept = 0;
  for (const auto& s : slices) kept += s.metrics.size();
  EXPECT_EQ(kept, 200u);
  EXPECT_LT(slices.back().start, kT0 + 86400 * S);
}

TEST(Slicer, AFirstRecordFromABadClockDoesNotSetTheTime) {
  for (TimeUs skew : {kSixYears, -kSixYears}) {
    std::vector<Record> recs{metric(kT0 + skew, 0, 1)};
    for (int i = 0; i < 100; ++i) recs.push_back(metric(kT0 + i * 10 * S, 0, 0));
    SliceStats st;
    const auto slices = run(recs, minute_windows(), {}, &st);
    EXPECT_EQ(st.clock_outliers, 1) << skew;
    EXPECT_EQ(st.late_records, 0) << skew;
    size_t kept = 0;
    for (const auto& s : slices) kept += s.metrics.size();
    EXPECT_EQ(kept, 100u) << skew;
  }
}

TEST(Slicer, AGapConfirmedByTheRecordsAfterItMovesTime) {
  // Two days of a dataset with a day between them, as files merged in time order give them.
  std::vector<Record> recs;
  for (int i = 0; i < 100; ++i) recs.push_back(metric(kT0 + i * 10 * S));
  const TimeUs day3 = kT0 + 2 * 86400 * S;
  for (int i = 0; i < 100; ++i) recs.push_back(metric(day3 + i * 10 * S));
  SliceStats st;
  const auto slices = run(recs, minute_windows(), {}, &st);
  EXPECT_EQ(st.clock_outliers, 0);
  EXPECT_EQ(st.time_jumps, 1);
  EXPECT_EQ(st.late_records, 0);
  size_t kept = 0;
  for (const auto& s : slices) kept += s.metrics.size();
  EXPECT_EQ(kept, 200u);
  EXPECT_EQ(st.last_time, day3 + 99 * 10 * S);
}

TEST(Slicer, AnOutlierSortedToTheEndIsDroppedAtFinish) {
  // A file sorted in memory puts the 2028 row last: nothing after it can refute it.
  std::vector<Record> recs;
  for (int i = 0; i < 100; ++i) recs.push_back(metric(kT0 + i * 10 * S));
  recs.push_back(metric(kT0 + kSixYears, 0, 1));
  SliceStats st;
  const auto slices = run(recs, minute_windows(), {}, &st);
  EXPECT_EQ(st.clock_outliers, 1);
  EXPECT_EQ(slices.back().start / (60 * S), (kT0 + 990 * S) / (60 * S));
}

TEST(Slicer, AHostWithASkewedClockLosesOnlyItsOwnRecords) {
  // A live stream: every tenth record comes from a host whose clock is a year ahead.
  std::vector<Record> recs;
  int skewed = 0;
  for (int i = 0; i < 1000; ++i) {
    if (i % 10 == 5) {
      recs.push_back(metric(kT0 + 365LL * 86400 * S + i * S, 1, 0));
      ++skewed;
    } else {
      recs.push_back(metric(kT0 + i * S, 0, 0));
    }
  }
  SliceStats st;
  run(recs, minute_windows(), {}, &st);
  EXPECT_EQ(st.clock_outliers, skewed);
  EXPECT_EQ(st.late_records, 0);
  EXPECT_EQ(st.time_jumps, 0);
}

TEST(Slicer, ShortStreamsAndADisabledCheckAreNotJudged) {
  // Too few records to tell a bad clock from a sparse dataset: everything is kept.
  SliceStats st;
  auto slices = run({metric(kT0), metric(kT0 + 3 * 86400 * S), metric(kT0 + 9 * 86400 * S)}, minute_windows(), {}, &st);
  EXPECT_EQ(slices.size(), 3u);
  EXPECT_EQ(st.clock_outliers, 0);
  SliceOptions off = minute_windows();
  off.max_future_skew_s = 0;
  std::vector<Record> recs;
  for (int i = 0; i < 100; ++i) recs.push_back(metric(kT0 + i * 10 * S));
  recs.push_back(metric(kT0 + kSixYears));
  slices = run(recs, off, {}, &st);
  EXPECT_EQ(st.clock_outliers, 0);
  EXPECT_EQ(slices.back().start, (kT0 + kSixYears) / (60 * S) * (60 * S));
}

TEST(Slicer, RejectsBadOptions) {
  SliceOptions o;
  o.window_stride_s = 300;
  o.window_len_s = 60;
  EXPECT_THROW(Slicer(o, {}, [](Slice&&) {}), InvalidInput);
  o.window_len_s = 0;
  EXPECT_THROW(Slicer(o, {}, [](Slice&&) {}), InvalidInput);
}

}  // namespace
}  // namespace rslicer
