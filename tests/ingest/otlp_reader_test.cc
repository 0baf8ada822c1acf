// otlp reader: OTLP/JSON lines of the Collector's file exporter (metrics of
// every point type, spans, logs), entities from resource attributes, labels
// from faults.json, bad lines counted with file:line, strict mode, gzip.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/errors.h"
#include "ingest/formats.h"
#include "ingest/source_util.h"
#include "test_util.h"

namespace rslicer {
namespace {

using testing::make_temp_dir;
using testing::write_file;
using testing::write_gzip_file;

constexpr TimeUs kT0 = 1674981669LL * kUsPerSecond;  // 2023-01-29T08:41:09Z

using testing::drain;
using testing::only;

bool has_example(const ParseStats& s, const std::string& needle) {
  for (const auto& e : s.examples)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}

const char* kPodResource =
    R"({"attributes":[{"key":"service.name","value":{"stringValue":"ts-order-service"}},)"
    R"({"key":"k8s.pod.name","value":{"stringValue":"ts-order-service-5d4f8c9b7-abcde"}},)"
    R"({"key":"k8s.node.name","value":{"stringValue":"node-3"}}]})";

std::string metrics_line() {
  return std::string(R"({"resourceMetrics":[{"resource":)") + kPodResource +
         R"(,"scopeMetrics":[{"scope":{"name":"x"},"metrics":[)"
         R"({"name":"cpu","unit":"1","gauge":{"dataPoints":[{"timeUnixNano":"1674981669000000000","asDouble":0.25},)"
         R"({"timeUnixNano":"1674981729000000000","asDouble":"NaN"}]}},)"
         R"({"name":"requests","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[)"
         R"({"timeUnixNano":"1674981669000000000","asInt":"42","attributes":[{"key":"method","value":{"stringValue":"GET"}},)"
         R"({"key":"code","value":{"intValue":"200"}}]}]}},)"
         R"({"name":"latency","histogram":{"dataPoints":[{"timeUnixNano":"1674981669000000000","count":"4","sum":2.0,)"
         R"("bucketCounts":["1","3"],"explicitBounds":[0.5],"min":0.1,"max":0.9}]}},)"
         R"({"name":"rt","summary":{"dataPoints":[{"timeUnixNano":"1674981669000000000","count":"2","sum":3.0,)"
         R"("quantileValues":[{"quantile":0.5,"value":1.0},{"quantile":0.999,"value":2.0}]}]}})"
         R"(]}]},)"
         R"({"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"node-3"}}]},"scopeMetrics":[{"metrics":[)"
         R"({"name":"system.cpu.utilization","gauge":{"dataPoints":[{"timeUnixNano":"1674981669000000000","asDouble":0.5}]}}]}]}]})";
}

std::string spans_line() {
  return std::string(R"({"resourceSpans":[{"resource":)") + kPodResource + R"(,"scopeSpans":[{"spans":[)"
         R"({"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"2403bd74459921c7","name":"GET /order",)"
         R"("kind":2,"startTimeUnixNano":"1674981669537000000","endTimeUnixNano":"1674981669604429060",)"
         R"("attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}],"status":{}},)"
         R"({"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"9073bc9b27b8249b","parentSpanId":"2403bd74459921c7",)"
         R"("name":"db","startTimeUnixNano":"1674981669538000000","endTimeUnixNano":"1674981669540000000",)"
         R"("status":{"code":2,"message":"boom"}},)"
         R"({"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"aaaabbbbccccdddd","parentSpanId":"ffffffffffffffff",)"
         R"("name":"http","startTimeUnixNano":"1674981669539000000","endTimeUnixNano":"1674981669541000000",)"
         R"("attributes":[{"key":"http.status_code","value":{"intValue":503}}]},)"
         R"({"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"aaaabbbbccccdddd",)"
         R"("name":"dup","startTimeUnixNano":"1674981669542000000","endTimeUnixNano":"1674981669542000000"})"
         R"(]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ts-gateway-service"}}]},)"
         R"("scopeSpans":[{"spans":[{"traceId":"t2","spanId":"s2","name":"/*","startTimeUnixNano":"1674981670000000000",)"
         R"("endTimeUnixNano":"1674981670000001000","status":{"code":"STATUS_CODE_OK"}}]}]}]})";
}

std::string logs_line() {
  return std::string(R"({"resourceLogs":[{"resource":)") + kPodResource + R"(,"scopeLogs":[{"logRecords":[)"
         R"({"timeUnixNano":"1674981669600000000","severityText":"WARN","severityNumber":13,)"
         R"("body":{"stringValue":"order slow"},"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"2403bd74459921c7"},)"
         R"({"observedTimeUnixNano":"1674981669700000000","severityNumber":17,"body":{"stringValue":"db failed"}},)"
         R"({"timeUnixNano":"1674981669800000000","body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}}})"
         R"(]}]}]})";
}

TEST(OtlpReader, ReadsMetricsSpansAndLogs) {
  const std::string dir = make_temp_dir("otlp_all");
  write_file(dir + "/metrics.jsonl", metrics_line() + "\n");
  write_gzip_file(dir + "/sub/traces.jsonl.gz", spans_line() + "\n");
  write_file(dir + "/logs.json", logs_line() + "\n\n");
  EXPECT_EQ(probe_otlp(dir), 2);
  auto src = open_otlp(dir, {});
  EXPECT_EQ(src->format(), "otlp");
  const auto records = drain(*src);
  const Catalog& c = src->catalog();

  // Entities: the pod (with service and node), its node's own metrics.
  const Id pod = c.entities.find("ts-order-service-5d4f8c9b7-abcde");
  ASSERT_NE(pod, kNoId);
  EXPECT_EQ(c.entity_info[pod].kind, EntityKind::kPod);
  EXPECT_EQ(c.entities.name(c.service_of(pod)), "ts-order-service");
  ASSERT_NE(c.entity_info[pod].node, kNoId);
  EXPECT_EQ(c.entities.name(c.entity_info[pod].node), "node-3");
  EXPECT_EQ(c.entity_info[c.entities.find("node-3")].kind, EntityKind::kNode);
  EXPECT_EQ(c.entity_info[c.entities.find("ts-gateway-service")].kind, EntityKind::kService);

  std::map<std::string, double> kpi;
  for (const auto& m : only<MetricPoint>(records)) {
    EXPECT_EQ(m.time, kT0);
    kpi[c.entities.name(m.entity) + "/" + c.kpis.name(m.kpi)] = m.value;
  }
  const std::string p = "ts-order-service-5d4f8c9b7-abcde/";
  EXPECT_DOUBLE_EQ(kpi.at(p + "cpu"), 0.25);
  EXPECT_DOUBLE_EQ(kpi.at(p + "requests{code=200,method=GET}"), 42);
  EXPECT_DOUBLE_EQ(kpi.at(p + "latency.count"), 4);
  EXPECT_DOUBLE_EQ(kpi.at(p + "latency.sum"), 2);
  EXPECT_DOUBLE_EQ(kpi.at(p + "latency.mean"), 0.5);
  EXPECT_DOUBLE_EQ(kpi.at(p + "latency.min"), 0.1);
  EXPECT_DOUBLE_EQ(kpi.at(p + "latency.max"), 0.9);
  EXPECT_DOUBLE_EQ(kpi.at(p + "rt.p50"), 1.0);
  EXPECT_DOUBLE_EQ(kpi.at(p + "rt.p99.9"), 2.0);
  EXPECT_DOUBLE_EQ(kpi.at(p + "rt.mean"), 1.5);
  EXPECT_DOUBLE_EQ(kpi.at("node-3/system.cpu.utilization"), 0.5);
  EXPECT_EQ(kpi.size(), 13u);
  EXPECT_EQ(src->counts().metric_non_finite, 1);  // the "NaN" gauge point
  EXPECT_EQ(src->counts().metric_rows, 6);
  EXPECT_EQ(src->counts().metric_points, 13);

  const auto spans = only<Span>(records);
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(spans[0].span_id, "2403bd74459921c7");
  EXPECT_EQ(spans[0].start, kT0 + 537000);
  EXPECT_EQ(spans[0].duration_us, 67429);
  EXPECT_TRUE(spans[0].parent_id.empty());
  EXPECT_EQ(spans[0].status_code, 200);
  EXPECT_FALSE(spans[0].error);
  EXPECT_EQ(c.operations.name(spans[0].operation), "GET /order");
  EXPECT_EQ(spans[1].parent_id, "2403bd74459921c7");
  EXPECT_TRUE(spans[1].error);  // status ERROR
  EXPECT_EQ(spans[2].parent_id, "ffffffffffffffff");  // missing parent: passed through
  EXPECT_EQ(spans[2].status_code, 503);
  EXPECT_TRUE(spans[2].error);
  EXPECT_EQ(spans[3].span_id, "aaaabbbbccccdddd");  // duplicate span id: passed through
  EXPECT_EQ(spans[4].span_id, "s2");
  EXPECT_FALSE(spans[4].error);

  const auto logs = only<LogRecord>(records);
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_EQ(logs[0].level, LogLevel::kWarn);
  EXPECT_EQ(logs[0].message, "order slow");
  EXPECT_EQ(logs[0].trace_id, "8609fbd1b13573b2b5f70109be0b4246");
  EXPECT_EQ(logs[0].span_id, "2403bd74459921c7");
  EXPECT_EQ(logs[1].level, LogLevel::kError);  // from severityNumber
  EXPECT_EQ(logs[1].time, kT0 + 700000);       // observedTimeUnixNano
  EXPECT_EQ(logs[2].level, LogLevel::kUnknown);
  EXPECT_NE(logs[2].message.find("\"key\":\"a\""), std::string::npos);

  for (size_t i = 1; i < records.size(); ++i) EXPECT_LE(record_time(records[i - 1]), record_time(records[i]));
  EXPECT_EQ(src->stats().rejected, 0);
  EXPECT_EQ(src->stats().files_read, 3);
  EXPECT_TRUE(src->faults().empty());
  EXPECT_GE(src->stats().files_missing, 1);  // no faults.json

  // One file on its own works too.
  auto single = open_otlp(dir + "/sub/traces.jsonl.gz", {});
  EXPECT_EQ(only<Span>(drain(*single)).size(), 5u);
  std::filesystem::remove_all(dir);
}

TEST(OtlpReader, CountsBadLinesAndRecordsWithFileAndLine) {
  const std::string dir = make_temp_dir("otlp_bad");
  write_file(dir + "/t.jsonl",
             spans_line() + "\n" +
                 "{\"resourceSpans\": [ this is not json\n" +                 // line 2
                 "{\"somethingElse\":[]}\n" +                                  // line 3
                 R"({"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[)"
                 R"({"traceId":"t","spanId":"s","startTimeUnixNano":"1674981669000000000"}]}]}]})"
                 "\n" +  // line 4: no entity
                 R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},)"
                 R"("scopeSpans":[{"spans":[{"traceId":"t","spanId":"s"},)"
                 R"({"spanId":"s","startTimeUnixNano":"1674981669000000000"}]}]}]})"
                 "\n");  // line 5: no start time, no trace id
  auto src = open_otlp(dir, {});
  const auto records = drain(*src);
  EXPECT_EQ(only<Span>(records).size(), 5u);
  const ParseStats& s = src->stats();
  EXPECT_EQ(s.rejected, 5);
  EXPECT_EQ(s.by_reason.at("bad_json"), 1);
  EXPECT_EQ(s.by_reason.at("unknown_object"), 1);
  EXPECT_EQ(s.by_reason.at("missing_entity"), 1);
  EXPECT_EQ(s.by_reason.at("bad_time"), 1);
  EXPECT_EQ(s.by_reason.at("missing_field"), 1);
  EXPECT_TRUE(has_example(s, "t.jsonl:2: not a JSON object"));
  EXPECT_TRUE(has_example(s, "t.jsonl:3: holds none of"));

  ReadOptions strict;
  strict.strict = true;
  auto strict_src = open_otlp(dir, strict);
  EXPECT_THROW(drain(*strict_src), InvalidInput);
  std::filesystem::remove_all(dir);
}

TEST(OtlpReader, ReadsFaultLabels) {
  const std::string dir = make_temp_dir("otlp_labels");
  write_file(dir + "/logs.jsonl", logs_line() + "\n");
  write_file(dir + "/faults.json", R"([
    {"start": "2023-01-29T08:50:00Z", "duration_s": 120, "level": "pod",
     "root_cause": "ts-order-service-5d4f8c9b7-abcde", "fault_type": "cpu_contention"},
    {"start": 1674981669000, "end": "2023-01-29 08:45:00", "level": "Service", "root_cause": "ts-order-service",
     "fault_type": "exception"},
    {"start": "2023-01-29T09:00:00.5Z", "level": "node", "root_cause": "node-3", "fault_type": "disk"},
    {"start": "not a time", "root_cause": "x"},
    {"start": 1674981669}
  ])");
  auto src = open_otlp(dir, {});
  const auto faults = src->faults();
  ASSERT_EQ(faults.size(), 3u);
  EXPECT_EQ(faults[0].start, kT0);  // epoch milliseconds
  EXPECT_EQ(faults[0].end, 1674981900LL * kUsPerSecond);
  EXPECT_EQ(faults[0].level, "service");
  EXPECT_EQ(faults[1].start, 1674982200LL * kUsPerSecond);
  EXPECT_EQ(faults[1].end, faults[1].start + 120 * kUsPerSecond);
  EXPECT_EQ(faults[1].fault_type, "cpu_contention");
  EXPECT_EQ(faults[2].start, 1674982800LL * kUsPerSecond + 500000);
  EXPECT_EQ(faults[2].end, faults[2].start + 300 * kUsPerSecond);  // default duration
  EXPECT_EQ(src->stats().by_reason.at("bad_label"), 2);
  EXPECT_TRUE(has_example(src->stats(), "faults.json: fault 4: missing or invalid \"start\""));
  std::filesystem::remove_all(dir);
}

TEST(OtlpReader, EmptyOrForeignFoldersAreInvalidInput) {
  const std::string empty = make_temp_dir("otlp_empty");
  EXPECT_EQ(probe_otlp(empty), 0);
  try {
    open_otlp(empty, {});
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(empty), std::string::npos);
    EXPECT_NE(msg.find("resourceMetrics"), std::string::npos);
  }
  const std::string foreign = make_temp_dir("otlp_foreign");
  write_file(foreign + "/a.json", "{\"08\": [{\"inject_time\": \"2023-01-29 08:43:04\"}]}\n");
  write_file(foreign + "/faults.json", "[]");
  EXPECT_EQ(probe_otlp(foreign), 0);
  EXPECT_THROW(open_otlp(foreign, {}), InvalidInput);
  std::filesystem::remove_all(empty);
  std::filesystem::remove_all(foreign);
}

TEST(OtlpReader, SkipsModalitiesOnRequest) {
  const std::string dir = make_temp_dir("otlp_skip");
  write_file(dir + "/all.jsonl", metrics_line() + "\n" + spans_line() + "\n" + logs_line() + "\n");
  ReadOptions opt;
  opt.read_metrics = false;
  opt.read_logs = false;
  auto src = open_otlp(dir, opt);
  const auto records = drain(*src);
  EXPECT_EQ(records.size(), 5u);
  EXPECT_EQ(only<Span>(records).size(), 5u);
  EXPECT_EQ(src->counts().metric_points, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
