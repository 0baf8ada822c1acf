// write_dataset -> open_source round trips: the same records (pods, KPIs,
// spans with parents, logs with trace ids and levels, two faults) written as
// nezha, aiops22 and otlp read back as the same records, within what each
// format keeps (nezha: metric times in whole seconds).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/line_reader.h"
#include "ingest/formats.h"
#include "ingest/source.h"
#include "ingest/writer.h"
#include "ingest/writer_formats.h"
#include "test_util.h"

namespace rslicer {
namespace {

namespace fs = std::filesystem;
using testing::make_temp_dir;

constexpr TimeUs kT0 = 1674981669LL * kUsPerSecond;  // 2023-01-29T08:41:09Z

struct Fixture {
  Catalog catalog;
  DatasetRecords data;
  Id pod_auth, pod_order;
};

std::unique_ptr<Fixture> make_fixture() {
  auto f = std::make_unique<Fixture>();
  Catalog& c = f->catalog;
  f->pod_auth = c.entity("ts-auth-service-7f8d7d756d-k7b9j", EntityKind::kPod);
  f->pod_order = c.entity("ts-order-service-5d4f8c9b7-abcde", EntityKind::kPod);
  c.entity_info[f->pod_auth].node = c.entity("node-1", EntityKind::kNode);
  c.entity_info[f->pod_order].node = c.entity("node-2", EntityKind::kNode);
  DatasetRecords& d = f->data;
  d.catalog = &c;
  const Id kpis[] = {c.kpis.intern("CpuUsage(m)"), c.kpis.intern("MemoryUsage(Mi)"),
                     c.kpis.intern("PodWorkload(Ops)"), c.kpis.intern("PodServerLatencyP99(s)")};
  for (int minute = 0; minute < 5; ++minute) {
    for (Id pod : {f->pod_auth, f->pod_order}) {
      for (int k = 0; k < 4; ++k) {
        const double v = 0.1 * (minute + 1) + k * 1000.0 / 3.0 + (pod == f->pod_auth ? 0 : 7.25);
        d.metrics.push_back(MetricPoint{kT0 + minute * kUsPerMinute, pod, kpis[k], v});
      }
    }
  }
  const Id op_root = c.operations.intern("POST /api/v1/orderservice/order");
  const Id op_child = c.operations.intern("OrderServiceImpl.create");
  const Id op_db = c.operations.intern("SELECT orders, users");  // a comma inside a field
  const LogLevel levels[] = {LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError};
  for (int t = 0; t < 3; ++t) {
    const std::string tid = "8609fbd1b13573b2b5f70109be0b420" + std::to_string(t);  // 32 hex digits
    const TimeUs start = kT0 + t * 61 * kUsPerSecond + 123457;  // microsecond precision, crosses minutes
    const std::string root = "aa00000000000" + std::to_string(100 + t);
    const std::string child = "bb00000000000" + std::to_string(100 + t);
    const std::string db = "cc00000000000" + std::to_string(100 + t);
    const bool fail = t == 2;
    d.spans.push_back(Span{start, 67429, f->pod_auth, op_root, tid, root, "", fail ? 503 : 200, fail});
    d.spans.push_back(Span{start + 1500, 60001, f->pod_order, op_child, tid, child, root, 0, false});
    // a call into a database without spans of its own, named by the client span (OTLP keeps the name)
    d.spans.push_back(
        Span{start + 2500, 1234, f->pod_order, op_db, tid, db, child, fail ? 500 : 0, fail, c.entity("mysql", EntityKind::kService)});
    LogRecord r;
    r.time = start + 2000;
    r.entity = f->pod_order;
    r.trace_id = tid;
    r.span_id = child;
    r.level = levels[t];
    r.message = std::string("o.s.OrderServiceImpl#88 TraceID: ") + tid + " SpanID: " + child +
                " [create][Order \"42\" created, price=9.5 \xe5\x85\x83]";
    d.logs.push_back(r);
  }
  LogRecord stack;  // a multi-line message with a tab and a control character
  stack.time = kT0 + 45 * kUsPerSecond;
  stack.entity = f->pod_order;
  stack.level = LogLevel::kError;
  stack.message = "java.lang.NullPointerException: \x01null\n\tat o.s.OrderServiceImpl.create(OrderServiceImpl.java:88)";
  d.logs.push_back(stack);
  LogRecord plain;
  plain.time = kT0 + 30 * kUsPerSecond + 7;
  plain.entity = f->pod_auth;
  plain.message = "plain text without a level";
  d.logs.push_back(plain);
  d.faults.push_back(FaultEvent{kT0 + 120 * kUsPerSecond, kT0 + 300 * kUsPerSecond, "pod",
                                "ts-order-service-5d4f8c9b7-abcde", "cpu_contention", ""});
  d.faults.push_back(FaultEvent{kT0 + 240 * kUsPerSecond, kT0 + 540 * kUsPerSecond, "pod",
                                "ts-auth-service-7f8d7d756d-k7b9j", "exception", ""});
  return f;
}

// Records as sorted text rows, names resolved, for comparison across catalogs.
struct Normalized {
  std::vector<std::string> metrics, spans, logs, faults;
};

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string metric_row(const Catalog& c, const MetricPoint& m) {
  return cat(m.time, "|", c.entities.name(m.entity), "|", c.kpis.name(m.kpi), "|", num(m.value));
}
std::string span_row(const Catalog& c, const Span& s, bool with_status, bool with_peer) {
  std::string row = cat(s.start, "|", s.duration_us, "|", c.entities.name(s.entity), "|",
                        s.operation == kNoId ? "" : c.operations.name(s.operation), "|", s.trace_id, "|", s.span_id,
                        "|", s.parent_id);
  if (with_status) row += cat("|", s.status_code, "|", s.error);
  if (with_peer) row += cat("|", s.peer == kNoId ? std::string("-") : c.entities.name(s.peer));
  return row;
}
std::string log_row(const Catalog& c, const LogRecord& r) {
  return cat(r.time, "|", c.entities.name(r.entity), "|", r.trace_id, "|", r.span_id, "|", log_level_name(r.level),
             "|", r.message);
}
std::string fault_row(const FaultEvent& f) {
  return cat(f.start, "|", f.end, "|", f.level, "|", f.root_cause, "|", f.fault_type);
}

// `with_peer`: the format keeps a client span's named callee (OTLP only).
Normalized normalize(const DatasetRecords& d, bool with_status, bool with_peer = false) {
  Normalized n;
  for (const auto& m : d.metrics) n.metrics.push_back(metric_row(*d.catalog, m));
  for (const auto& s : d.spans) n.spans.push_back(span_row(*d.catalog, s, with_status, with_peer));
  for (const auto& l : d.logs) n.logs.push_back(log_row(*d.catalog, l));
  for (const auto& f : d.faults) n.faults.push_back(fault_row(f));
  for (auto* v : {&n.metrics, &n.spans, &n.logs, &n.faults}) std::sort(v->begin(), v->end());
  return n;
}

Normalized read_back(TelemetrySource& src, bool with_status, bool with_peer = false) {
  Normalized n;
  auto stream = src.open();
  Record r;
  while (stream->next(r)) {
    const Catalog& c = src.catalog();
    if (auto* m = std::get_if<MetricPoint>(&r)) n.metrics.push_back(metric_row(c, *m));
    else if (auto* s = std::get_if<Span>(&r)) n.spans.push_back(span_row(c, *s, with_status, with_peer));
    else n.logs.push_back(log_row(c, std::get<LogRecord>(r)));
  }
  for (const auto& f : src.faults()) n.faults.push_back(fault_row(f));
  for (auto* v : {&n.metrics, &n.spans, &n.logs, &n.faults}) std::sort(v->begin(), v->end());
  return n;
}

void expect_same(const Normalized& want, const Normalized& got) {
  EXPECT_EQ(want.metrics, got.metrics);
  EXPECT_EQ(want.spans, got.spans);
  EXPECT_EQ(want.logs, got.logs);
  EXPECT_EQ(want.faults, got.faults);
}

void expect_pods_and_nodes(const Catalog& c) {
  for (const char* pod : {"ts-auth-service-7f8d7d756d-k7b9j", "ts-order-service-5d4f8c9b7-abcde"}) {
    const Id id = c.entities.find(pod);
    ASSERT_NE(id, kNoId) << pod;
    EXPECT_EQ(c.entity_info[id].kind, EntityKind::kPod) << pod;
    ASSERT_NE(c.entity_info[id].node, kNoId) << pod;
  }
  EXPECT_EQ(c.entities.name(c.entity_info[c.entities.find("ts-auth-service-7f8d7d756d-k7b9j")].node), "node-1");
  EXPECT_EQ(c.entities.name(c.service_of(c.entities.find("ts-order-service-5d4f8c9b7-abcde"))), "ts-order-service");
}

TEST(WriterRoundTrip, Aiops22KeepsEveryField) {
  auto f = make_fixture();
  const std::string dir = make_temp_dir("rt_aiops22");
  WriteOptions opt;
  opt.gzip = false;
  write_dataset(dir, "aiops22", f->data, opt);
  EXPECT_TRUE(fs::exists(dir + "/metric/container/kpi_container.csv"));
  EXPECT_TRUE(fs::exists(dir + "/trace/all/trace_jaeger-span.csv"));
  EXPECT_TRUE(fs::exists(dir + "/log/all/log_filebeat-testbed-log-service.csv"));
  EXPECT_TRUE(fs::exists(dir + "/groundtruth/groundtruth.csv"));
  EXPECT_EQ(detect_format(dir), "aiops22");
  auto src = open_source(dir, "", {});
  ASSERT_EQ(src->format(), "aiops22");
  expect_same(normalize(f->data, true), read_back(*src, true));
  expect_pods_and_nodes(src->catalog());
  EXPECT_EQ(src->stats().rejected, 0);
  EXPECT_EQ(src->counts().metric_points, static_cast<std::int64_t>(f->data.metrics.size()));
  EXPECT_EQ(src->counts().spans, 9);
  EXPECT_EQ(src->counts().log_records, 5);
  fs::remove_all(dir);
}

TEST(WriterRoundTrip, OtlpKeepsEveryField) {
  auto f = make_fixture();
  const std::string dir = make_temp_dir("rt_otlp");
  write_dataset(dir, "otlp", f->data);
  EXPECT_TRUE(fs::exists(dir + "/metrics.jsonl.gz"));
  EXPECT_TRUE(fs::exists(dir + "/traces.jsonl.gz"));
  EXPECT_TRUE(fs::exists(dir + "/logs.jsonl.gz"));
  EXPECT_TRUE(fs::exists(dir + "/faults.json"));
  EXPECT_EQ(detect_format(dir), "otlp");
  auto src = open_source(dir, "otlp", {});
  expect_same(normalize(f->data, true, true), read_back(*src, true, true));
  expect_pods_and_nodes(src->catalog());
  EXPECT_EQ(src->stats().rejected, 0);
  fs::remove_all(dir);
}

TEST(WriterRoundTrip, NezhaKeepsWhatTheFormatHolds) {
  auto f = make_fixture();
  const std::string dir = make_temp_dir("rt_nezha");
  write_dataset(dir, "nezha", f->data);
  const std::string day = dir + "/rca_data/2023-01-29";
  const std::string metric_file = day + "/metric/ts-auth-service-7f8d7d756d-k7b9j_metric.csv.gz";
  ASSERT_TRUE(fs::exists(metric_file));
  ASSERT_TRUE(fs::exists(day + "/2023-01-29-fault_list.json"));
  // Spans at 08:41:09, 08:42:10, 08:43:11 go to the files named after the next minute.
  EXPECT_TRUE(fs::exists(day + "/trace/08_42_trace.csv.gz"));
  EXPECT_TRUE(fs::exists(day + "/trace/08_44_trace.csv.gz"));
  EXPECT_TRUE(fs::exists(day + "/traceid/08_42_traceid.csv.gz"));
  EXPECT_TRUE(fs::exists(day + "/log/08_42_log.csv.gz"));

  // The metric header is exactly the nezha one.
  LineReader metric(metric_file);
  std::string_view line;
  ASSERT_TRUE(metric.next(line));
  std::string header = "Time,TimeStamp,PodName";
  for (const auto& k : nezha_pod_kpis()) header += "," + k;
  EXPECT_EQ(line, header);
  ASSERT_TRUE(metric.next(line));
  EXPECT_EQ(line.substr(0, 51), "2023-01-29 08:41:09 +0000 UTC,1674981669,ts-auth-se");
  // Logs: Docker JSON whose inner clock is UTC+8 (08:41:09 UTC -> 16:41:09).
  LineReader logs(day + "/log/08_42_log.csv.gz");
  ASSERT_TRUE(logs.next(line));
  EXPECT_EQ(line, "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log");
  bool saw_json = false;
  while (logs.next(line)) {
    if (line.find("16:41:09.125 INFO  o.s.OrderServiceImpl#88") != std::string_view::npos) {
      saw_json = true;
      EXPECT_NE(line.find("\\n\"\",\"\"stream\"\":\"\"stdout\"\",\"\"time\"\":\"\"2023-01-29T08:41:09.125457Z\"\"}\""),
                std::string_view::npos)
          << line;
      EXPECT_EQ(line.substr(0, 58), "2023-01-29T08:41:09.125457Z,1674981669125457000,node-2,ts-");
    }
  }
  EXPECT_TRUE(saw_json);
  // Labels: {hour: [{inject_time (UTC), inject_timestamp, inject_pod, inject_type}]}.
  const std::string labels = read_text_file(day + "/2023-01-29-fault_list.json");
  EXPECT_NE(labels.find("{\n    \"08\": [\n        {\n            \"inject_time\": \"2023-01-29 08:43:09\",\n"
                        "            \"inject_timestamp\": \"1674981789\",\n"
                        "            \"inject_pod\": \"ts-order-service-5d4f8c9b7-abcde\",\n"
                        "            \"inject_type\": \"cpu_contention\",\n"
                        "            \"duration_s\": 180.0\n        },"),
            std::string::npos)
      << labels;

  EXPECT_EQ(detect_format(dir), "nezha");
  auto src = open_source(dir, "", {});
  ASSERT_EQ(src->format(), "nezha");
  // The published format has no fault duration; the writer adds duration_s (the fixture's faults last 180 and
  // 300 s, not the reader's default for every fault), and the reader keeps it.
  expect_same(normalize(f->data, true), read_back(*src, true));
  expect_pods_and_nodes(src->catalog());
  EXPECT_EQ(src->stats().rejected, 0);
  EXPECT_EQ(src->counts().metric_points, static_cast<std::int64_t>(f->data.metrics.size()));
  // 19 columns per row, 4 filled: the other 15 are NaN and counted as such.
  EXPECT_EQ(src->counts().metric_non_finite, 10 * 15);
  fs::remove_all(dir);
}

TEST(WriterRoundTripData, NezhaMetricHeaderMatchesTheRealData) {
  const std::string real = testing::trainticket_dir() +
                           "/nezha/rca_data/2023-01-29/metric/ts-auth-service-7f8d7d756d-k7b9j_metric.csv.gz";
  if (!testing::exists(real)) GTEST_SKIP() << "no " << real;
  LineReader r(real);
  std::string_view line;
  ASSERT_TRUE(r.next(line));
  std::string header = "Time,TimeStamp,PodName";
  for (const auto& k : nezha_pod_kpis()) header += "," + k;
  EXPECT_EQ(line, header);
}

TEST(WriterRoundTrip, NezhaWritesExtraKpisAndServiceMetrics) {
  Catalog c;
  const Id pod = c.entity("ts-auth-service-7f8d7d756d-k7b9j", EntityKind::kPod);
  const Id svc = c.entity("Frontend", EntityKind::kService);
  DatasetRecords d;
  d.catalog = &c;
  d.metrics.push_back(MetricPoint{kT0, pod, c.kpis.intern("GcPauseMs"), 3.5});
  d.metrics.push_back(MetricPoint{kT0, svc, c.kpis.intern("SuccessRate(%)"), 99.5});
  const std::string dir = make_temp_dir("rt_nezha_extra");
  write_dataset(dir, "nezha", d, WriteOptions{false});
  auto src = open_source(dir, "nezha", {});
  const Normalized got = read_back(*src, false);
  EXPECT_EQ(got.metrics, normalize(d, false).metrics);
  EXPECT_EQ(src->catalog().entity_info[src->catalog().entities.find("Frontend")].kind, EntityKind::kService);
  fs::remove_all(dir);
}

TEST(WriterRoundTrip, RejectsWhatAFormatCannotHold) {
  auto f = make_fixture();
  const std::string dir = make_temp_dir("rt_errors");
  EXPECT_THROW(write_dataset(dir, "parquet", f->data), InvalidInput);

  // Node metrics have no nezha file.
  DatasetRecords node_metrics = f->data;
  node_metrics.metrics.push_back(
      MetricPoint{kT0, f->catalog.entities.find("node-1"), f->catalog.kpis.intern("system.cpu.pct_usage"), 1});
  try {
    write_dataset(dir + "/n", "nezha", node_metrics);
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("node-1 (1 points)"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/n"));  // nothing written
  EXPECT_NO_THROW(write_dataset(dir + "/a", "aiops22", node_metrics));

  // Nezha labels name pods only.
  DatasetRecords node_fault = f->data;
  node_fault.faults.push_back(FaultEvent{kT0, kT0 + 1, "node", "node-1", "disk", ""});
  EXPECT_THROW(write_dataset(dir + "/f", "nezha", node_fault), InvalidInput);

  // Two values of one KPI in one second cannot share a nezha row.
  DatasetRecords twice = f->data;
  twice.metrics.push_back(twice.metrics.front());
  twice.metrics.back().time += 1000;
  EXPECT_THROW(write_dataset(dir + "/t", "nezha", twice), InvalidInput);

  // aiops22 timestamps carry no unit: times before 1973 cannot be told apart.
  DatasetRecords early = f->data;
  early.metrics.front().time = 5 * kUsPerSecond + 500000;
  EXPECT_THROW(write_dataset(dir + "/e", "aiops22", early), InvalidInput);

  DatasetRecords no_catalog;
  EXPECT_THROW(write_dataset(dir + "/c", "otlp", no_catalog), InvalidInput);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
