#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "ingest/formats.h"
#include "ingest/source.h"
#include "test_util.h"

namespace rslicer {
namespace {

const char* kMetricHeader =
    "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),MemoryUsage(Mi),MemoryUsageRate(%),SyscallRead,SyscallWrite,"
    "NetworkReceiveBytes,NetworkTransmitBytes,PodClientLatencyP90(s),PodServerLatencyP90(s),PodClientLatencyP95(s),"
    "PodServerLatencyP95(s),PodClientLatencyP99(s),PodServerLatencyP99(s),PodWorkload(Ops),PodSuccessRate(%),"
    "NodeCpuUsageRate(%),NodeMemoryUsageRate(%),NodeNetworkReceiveBytes\n";

// A metric row whose Time text says the same as its TimeStamp (the reader rejects rows whose two clocks disagree).
std::string metric_row(long ts, const std::string& pod, const std::string& latency = "0.1") {
  const std::time_t tt = static_cast<std::time_t>(ts);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char time_text[64];
  std::strftime(time_text, sizeof time_text, "%Y-%m-%d %H:%M:%S.47 +0000 UTC m=+0.5", &utc);
  std::string r = std::string(time_text) + "," + std::to_string(ts) + "," + pod;
  for (int i = 0; i < 19; ++i) r += "," + (i == 9 ? latency : std::to_string(i + 1));
  return r + "\n";
}

struct Read {
  std::vector<MetricPoint> metrics;
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  std::unique_ptr<TelemetrySource> source;
};

Read read_all(const std::string& dir, ReadOptions o = {}) {
  Read r;
  r.source = open_source(dir, "", o);
  auto s = r.source->open();
  Record rec;
  TimeUs last = INT64_MIN / 2;  // room for the subtraction below
  while (s->next(rec)) {
    EXPECT_GE(record_time(rec), last - 5 * kUsPerMinute);
    last = std::max(last, record_time(rec));
    if (auto* m = std::get_if<MetricPoint>(&rec)) r.metrics.push_back(*m);
    if (auto* sp = std::get_if<Span>(&rec)) r.spans.push_back(*sp);
    if (auto* l = std::get_if<LogRecord>(&rec)) r.logs.push_back(*l);
  }
  return r;
}

std::string make_day(const std::string& root) {
  const std::string d = root + "/rca_data/2023-01-29";
  testing::write_gzip_file(d + "/metric/ts-a-service-7f8d7d756d-k7b9j_metric.csv.gz",
                           std::string(kMetricHeader) + metric_row(1674981669, "ts-a-service-7f8d7d756d-k7b9j") +
                               metric_row(1674981729, "ts-a-service-7f8d7d756d-k7b9j", "NaN") +
                               "bad,row\n" + metric_row(1674981789, "ts-a-service-7f8d7d756d-k7b9j", "12x"));
  testing::write_file(d + "/trace/08_42_trace.csv",
                      "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
                      "t1,s1,root,ts-a-service-7f8d7d756d-k7b9j,/*,1674981768697000000,1674981769015316530,318316\n"
                      "t1,s2,s1,ts-b-service-5dc8d4f9fd-46997,GET /b,1674981768700000000,1674981768800000000,100000\n"
                      "t1,s3,missing,ts-b-service-5dc8d4f9fd-46997,GET /c,1674981768710000000,1674981768720000000,10000\n");
  testing::write_file(
      d + "/log/08_42_log.csv",
      "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n"
      "2023-01-29T08:42:22.383Z,1674981742383150913,33.33.33.116,ts-b-service-5dc8d4f9fd-46997,server,t1,s2,"
      "\"{\"\"log\"\":\"\"16:42:22.382 ERROR  c.B#1 failed to get x\\n\"\",\"\"stream\"\":\"\"stdout\"\"}\"\n"
      "2023-01-29T08:42:23.000Z,-6795364578871345152,33.33.33.116,ts-b-service-5dc8d4f9fd-46997,server,,,"
      "\"{\"\"log\"\":\"\"16:42:23.000 INFO  c.B#2 ok\\n\"\",\"\"stream\"\":\"\"stdout\"\"}\"\n"
      "1,2,3\n");
  testing::write_file(d + "/2023-01-29-fault_list.json",
                      R"({"08": [{"inject_time": "2023-01-29 08:43:04", "inject_timestamp": "1674953044",
                          "inject_pod": "ts-b-service-5dc8d4f9fd-46997", "inject_type": "return"}]})");
  return d;
}

TEST(NezhaReader, ReadsAllModalitiesAndCountsBadRecords) {
  const std::string root = testing::make_temp_dir("nezha");
  make_day(root);
  EXPECT_EQ(detect_format(root), "nezha");
  Read r = read_all(root);
  const ReadCounts& c = r.source->counts();
  EXPECT_EQ(c.metric_rows, 3);                // the "bad,row" line is rejected
  EXPECT_EQ(c.metric_non_finite, 1);          // NaN latency skipped and counted
  EXPECT_EQ(c.metric_points, 19 + 18 + 18);   // the third row's "12x" value is rejected
  EXPECT_EQ(r.metrics.size(), 55u);
  EXPECT_EQ(c.spans, 3);
  EXPECT_EQ(c.log_records, 2);
  const ParseStats& st = r.source->stats();
  EXPECT_EQ(st.rejected, 3);
  EXPECT_EQ(st.by_reason.at("field_count"), 2);
  EXPECT_EQ(st.by_reason.at("bad_number"), 1);
  EXPECT_EQ(st.repaired.at("time_from_iso"), 1);
  bool named = false;
  for (const auto& e : st.examples) named |= e.find("ts-a-service-7f8d7d756d-k7b9j_metric.csv.gz:4:") != std::string::npos;
  EXPECT_TRUE(named) << "rejections name file and line";
  // Spans: root parent is empty, entity and operation interned.
  ASSERT_EQ(r.spans.size(), 3u);
  EXPECT_EQ(r.spans[0].parent_id, "");
  EXPECT_EQ(r.spans[0].duration_us, 318316);
  EXPECT_EQ(r.source->catalog().entities.name(r.spans[1].entity), "ts-b-service-5dc8d4f9fd-46997");
  EXPECT_EQ(r.source->catalog().entities.name(r.source->catalog().service_of(r.spans[1].entity)), "ts-b-service");
  // Logs: Docker JSON unwrapped, level parsed, overflowed epoch recovered from the ISO time.
  ASSERT_EQ(r.logs.size(), 2u);
  EXPECT_EQ(r.logs[0].level, LogLevel::kError);
  EXPECT_EQ(r.logs[0].message, "c.B#1 failed to get x");
  EXPECT_EQ(r.logs[0].trace_id, "t1");
  EXPECT_EQ(r.logs[1].time, 1674981743LL * kUsPerSecond);
  // Labels: inject_time read as UTC, inject_timestamp (8 h off) ignored.
  const auto faults = r.source->faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].start, 1674981784LL * kUsPerSecond);
  EXPECT_EQ(faults[0].end - faults[0].start, static_cast<TimeUs>(kNezhaDefaultFaultDurationS * kUsPerSecond));
  EXPECT_EQ(faults[0].fault_type, "return");
}

TEST(NezhaReader, RowsWhoseTwoTimeColumnsDisagreeAreRejected) {
  // A real metric file has a row whose TimeStamp says 2028 while its Time says 2022.
  const std::string root = testing::make_temp_dir("nezha_clock");
  const std::string d = root + "/rca_data/2023-01-29";
  std::string bad = metric_row(1674981729, "ts-a-service-7f8d7d756d-k7b9j");  // Time says 2023-01-29 08:42:09
  bad.replace(bad.find("1674981729"), 10, "1864197669");                       // TimeStamp says 2029
  testing::write_gzip_file(d + "/metric/ts-a-service-7f8d7d756d-k7b9j_metric.csv.gz",
                           std::string(kMetricHeader) + metric_row(1674981669, "ts-a-service-7f8d7d756d-k7b9j") + bad);
  testing::write_file(d + "/2023-01-29-fault_list.json", "{}");
  Read r = read_all(root);
  EXPECT_EQ(r.source->counts().metric_rows, 1);
  const ParseStats& st = r.source->stats();
  EXPECT_EQ(st.by_reason.at("time_columns_disagree"), 1);
  bool named = false;
  for (const auto& e : st.examples) named |= e.find("_metric.csv.gz:3: TimeStamp '1864197669'") != std::string::npos;
  EXPECT_TRUE(named) << (st.examples.empty() ? "" : st.examples[0]);
  for (const auto& m : r.metrics) EXPECT_LT(m.time, 1700000000LL * kUsPerSecond);
}

TEST(NezhaReader, ALabelsDurationBeatsTheDefaultAndABadOneIsCountedWithItsValue) {
  // The published files give no duration (the reader's default, or --fault-duration, applies); the simulator's
  // labels add duration_s, and one that is not a duration is rejected naming the fault and the value.
  const std::string root = testing::make_temp_dir("nezha_duration");
  const std::string d = root + "/rca_data/2023-01-29";
  testing::write_gzip_file(d + "/metric/ts-a-service-7f8d7d756d-k7b9j_metric.csv.gz",
                           std::string(kMetricHeader) + metric_row(1674981669, "ts-a-service-7f8d7d756d-k7b9j"));
  testing::write_file(d + "/2023-01-29-fault_list.json",
                      R"({"08": [{"inject_time": "2023-01-29 08:43:04", "inject_pod": "ts-a-service-7f8d7d756d-k7b9j",
                                  "inject_type": "return", "duration_s": 300},
                                 {"inject_time": "2023-01-29 08:53:04", "inject_pod": "ts-a-service-7f8d7d756d-k7b9j",
                                  "inject_type": "exception"},
                                 {"inject_time": "2023-01-29 08:58:04", "inject_pod": "ts-a-service-7f8d7d756d-k7b9j",
                                  "inject_type": "exception", "duration_s": "soon"}]})");
  for (const double fallback : {-1.0, 240.0}) {
    ReadOptions o;
    o.fault_duration_s = fallback;
    Read r = read_all(root, o);
    const auto faults = r.source->faults();
    ASSERT_EQ(faults.size(), 2u);
    EXPECT_EQ(faults[0].end - faults[0].start, 300 * kUsPerSecond);
    const double want = fallback < 0 ? kNezhaDefaultFaultDurationS : fallback;
    EXPECT_EQ(faults[1].end - faults[1].start, static_cast<TimeUs>(want * kUsPerSecond));
    const ParseStats& st = r.source->stats();
    EXPECT_EQ(st.by_reason.at("bad_label"), 1);
    ASSERT_FALSE(st.examples.empty());
    EXPECT_NE(st.examples.back().find("fault #3 (hour 08): invalid duration_s \"soon\""), std::string::npos)
        << st.examples.back();
  }
}

TEST(NezhaReader, StrictModeFailsOnFirstBadRecord) {
  const std::string root = testing::make_temp_dir("nezha");
  make_day(root);
  ReadOptions o;
  o.strict = true;
  EXPECT_THROW(read_all(root, o), InvalidInput);
}

// Same records, in the same order, with the same ids, counts and reject
// examples (in the same order unless `examples_in_order` is false).
void expect_same_read(const Read& one, const Read& many, bool examples_in_order = true) {
  ASSERT_GT(one.metrics.size(), 100000u);
  ASSERT_EQ(one.metrics.size(), many.metrics.size());
  ASSERT_EQ(one.spans.size(), many.spans.size());
  ASSERT_EQ(one.logs.size(), many.logs.size());
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    const MetricPoint &a = one.metrics[i], &b = many.metrics[i];
    ASSERT_TRUE(a.time == b.time && a.entity == b.entity && a.kpi == b.kpi && a.value == b.value) << "metric " << i;
  }
  for (size_t i = 0; i < one.spans.size(); ++i) {
    const Span &a = one.spans[i], &b = many.spans[i];
    ASSERT_TRUE(a.start == b.start && a.entity == b.entity && a.operation == b.operation && a.span_id == b.span_id &&
                a.trace_id == b.trace_id && a.parent_id == b.parent_id)
        << "span " << i;
  }
  for (size_t i = 0; i < one.logs.size(); ++i) {
    const LogRecord &a = one.logs[i], &b = many.logs[i];
    ASSERT_TRUE(a.time == b.time && a.entity == b.entity && a.message == b.message) << "log " << i;
  }
  const Catalog &c1 = one.source->catalog(), &c2 = many.source->catalog();
  EXPECT_EQ(c1.entities.names(), c2.entities.names());
  EXPECT_EQ(c1.kpis.names(), c2.kpis.names());
  EXPECT_EQ(c1.operations.names(), c2.operations.names());
  for (Id e = 0; e < c1.entity_info.size(); ++e) {
    EXPECT_EQ(c1.entity_info[e].service, c2.entity_info[e].service);
    EXPECT_EQ(c1.entity_info[e].node, c2.entity_info[e].node);
  }
  const ReadCounts &n1 = one.source->counts(), &n2 = many.source->counts();
  EXPECT_EQ(n1.metric_rows, n2.metric_rows);
  EXPECT_EQ(n1.metric_points, n2.metric_points);
  EXPECT_EQ(n1.spans, n2.spans);
  EXPECT_EQ(n1.log_records, n2.log_records);
  auto e1 = one.source->stats().examples, e2 = many.source->stats().examples;
  if (!examples_in_order) {
    std::sort(e1.begin(), e1.end());
    std::sort(e2.begin(), e2.end());
  }
  EXPECT_EQ(e1, e2);
  EXPECT_EQ(one.source->stats().rejected, many.source->stats().rejected);
  EXPECT_GE(one.source->stats().rejected, 3);
  EXPECT_EQ(one.source->stats().bytes_read, many.source->stats().bytes_read);
}

TEST(NezhaReader, ParallelParsingGivesTheSameRecordsIdsAndCountsAsOneThread) {
  // Files are parsed on a pool; ids, record order, counts and reject
  // examples must not depend on how many threads parsed them.
  const std::string data = testing::source_dir() + "/data/trainticket-sample";
  ASSERT_TRUE(testing::exists(data));
  const std::string root = testing::make_temp_dir("nezha_par");
  make_day(root);  // a day with rejected lines, next to copies of the sample
  testing::run_command("cp -r " + data + "/rca_data " + root + "/sample");
  auto read_with = [&](int threads) {
    ReadOptions o;
    o.parse_threads = threads;
    return read_all(root, o);
  };
  const Read one = read_with(0), many = read_with(3);
  expect_same_read(one, many);
}

TEST(NezhaReader, MetricFilesReadRowByRowAboveTheParseAheadBudgetGiveTheSameRead) {
  // parse_ahead_mb = 0: every date's metric files are read row by row on the
  // reading thread instead of parsed ahead on the pool.
  const std::string data = testing::source_dir() + "/data/trainticket-sample";
  const std::string root = testing::make_temp_dir("nezha_direct");
  make_day(root);
  testing::run_command("cp -r " + data + "/rca_data " + root + "/sample");
  ReadOptions direct;
  direct.parse_ahead_mb = 0;
  // Rows read on demand report their rejects when the merge reaches them.
  expect_same_read(read_all(root), read_all(root, direct), /*examples_in_order=*/false);
  direct.strict = true;
  EXPECT_THROW(read_all(root, direct), InvalidInput);
}

TEST(NezhaReader, SpansStraddlingPerMinuteFilesComeOutInTimeOrder) {
  // A minute file holds whole traces, so it can hold spans later than the
  // next file's (here by up to four minutes, inside the 5-minute horizon),
  // and its own spans are grouped by trace, not sorted.
  const std::string root = testing::make_temp_dir("nezha_straddle");
  const std::string d = root + "/rca_data/2023-01-29/trace/";
  const std::string header = "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n";
  auto row = [](const std::string& id, long seconds) {
    const long ns = (1674981600L + seconds) * 1000000000L;
    return "t" + id + "," + id + ",root,ts-a-service-7f8d7d756d-k7b9j,/x," + std::to_string(ns) + "," +
           std::to_string(ns + 1000) + ",1\n";
  };
  testing::write_file(d + "08_40_trace.csv", header + row("a", 0) + row("b", 230) + row("c", 5) + row("d", 50));
  testing::write_file(d + "08_41_trace.csv", header + row("e", 70) + row("f", 60) + row("g", 230));
  testing::write_file(d + "08_42_trace.csv", header + row("h", 130));
  for (int threads : {0, 2}) {
    ReadOptions o;
    o.parse_threads = threads;
    const Read r = read_all(root, o);
    std::string order;
    for (const Span& s : r.spans) order += s.span_id.str();
    EXPECT_EQ(order, "acdfehbg") << threads << " threads";  // 230 s: b (first file) before g
  }
}

TEST(NezhaReader, StrictModeFailsOnFirstBadRecordWhateverTheThreads) {
  const std::string root = testing::make_temp_dir("nezha");
  make_day(root);
  for (int threads : {0, 1, 4}) {
    ReadOptions o;
    o.strict = true;
    o.parse_threads = threads;
    EXPECT_THROW(read_all(root, o), InvalidInput) << threads << " threads";
  }
}

TEST(NezhaReader, ToleratesAbsentModalitiesAndFiles) {
  const std::string root = testing::make_temp_dir("nezha");
  const std::string d = root + "/rca_data/2023-01-30";
  testing::write_gzip_file(d + "/metric/ts-a-service-7f8d7d756d-k7b9j_metric.csv.gz",
                           std::string(kMetricHeader) + metric_row(1675078792, "ts-a-service-7f8d7d756d-k7b9j"));
  Read r = read_all(root);
  EXPECT_EQ(r.metrics.size(), 19u);
  EXPECT_TRUE(r.spans.empty());
  EXPECT_TRUE(r.source->faults().empty());
  EXPECT_GE(r.source->stats().files_missing, 2);  // trace/ and log/ noted as absent
}

TEST(NezhaReader, UnreadableFileIsCountedNotFatal) {
  const std::string root = testing::make_temp_dir("nezha");
  const std::string d = make_day(root);
  testing::write_file(d + "/trace/08_43_trace.csv.gz", "\x1f\x8b garbage that is not gzip");
  Read r = read_all(root);
  EXPECT_EQ(r.spans.size(), 3u);
  EXPECT_GE(r.source->stats().rejected, 4);
}

TEST(Sources, EmptyFolderAndUnknownFormatGiveClearErrors) {
  const std::string empty = testing::make_temp_dir("empty");
  try {
    open_source(empty, "", {});
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  }
  const std::string other = testing::make_temp_dir("other");
  testing::write_file(other + "/notes.txt", "hello");
  EXPECT_THROW(open_source(other, "", {}), InvalidInput);
  EXPECT_THROW(open_source(other, "parquet", {}), InvalidInput);
  EXPECT_THROW(open_source("/no/such/dir", "nezha", {}), IoError);
}

// The full TrainTicket data: counts must equal what an independent reader
// (python's csv module) finds in the files.
TEST(NezhaReaderData, RealDataCountsMatchIndependentCount) {
  const std::string nezha = testing::trainticket_dir() + "/nezha";
  if (!testing::exists(nezha)) GTEST_SKIP() << "../shared not present";
  int rc = 0;
  const std::string py = testing::run_command("/usr/bin/python3 " + testing::source_dir() +
                                                  "/tests/ingest/count_nezha.py " + nezha,
                                              &rc);
  ASSERT_EQ(rc, 0) << py;
  const auto expected = nlohmann::json::parse(py);
  Read r;
  r.source = open_source(nezha, "nezha", {});
  auto s = r.source->open();
  Record rec;
  while (s->next(rec)) {
  }
  const ReadCounts& c = r.source->counts();
  EXPECT_EQ(c.metric_rows, expected["metric_rows"].get<std::int64_t>());
  EXPECT_EQ(c.spans, expected["spans"].get<std::int64_t>());
  // One log line has 10 fields instead of 8 (rca_data/2023-01-29/log/10_06_log.csv.gz:631).
  EXPECT_EQ(c.log_records, expected["log_lines"].get<std::int64_t>() - 1);
  EXPECT_EQ(r.source->stats().rejected, 1);
  ASSERT_EQ(r.source->stats().examples.size(), 1u);
  EXPECT_NE(r.source->stats().examples[0].find("10_06_log.csv.gz:631"), std::string::npos);
  EXPECT_EQ(r.source->faults().size(), 45u);
}

}  // namespace
}  // namespace rslicer

namespace rslicer {
namespace {

class ThrowingStream : public RecordStream {
 public:
  bool next(Record& out) override {
    if (n_ == 100) throw InvalidInput("boom at record 100");
    out = MetricPoint{n_++, 0, 0, 1.0};
    return true;
  }

 private:
  TimeUs n_ = 0;
};

TEST(Streams, PrefetchKeepsOrderAndRethrowsReaderErrors) {
  std::vector<Record> recs;
  for (TimeUs t = 0; t < 50000; ++t) recs.push_back(MetricPoint{t, 0, 0, 1.0});
  PrefetchStream p(make_vector_stream(recs), 1000, 2);
  Record r;
  TimeUs expected = 0;
  while (p.next(r)) EXPECT_EQ(record_time(r), expected++);
  EXPECT_EQ(expected, 50000);

  PrefetchStream bad(std::make_unique<ThrowingStream>(), 7, 2);
  int got = 0;
  EXPECT_THROW(
      {
        while (bad.next(r)) ++got;
      },
      InvalidInput);
  EXPECT_EQ(got, 100);  // every record before the error is delivered
  { PrefetchStream abandoned(std::make_unique<ThrowingStream>(), 7, 1); }  // destructor joins a blocked reader
}

}  // namespace
}  // namespace rslicer
