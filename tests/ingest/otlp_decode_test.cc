// OtlpDecoder and the OTLP encoders: the same request in OTLP/JSON and
// OTLP/protobuf gives the same records (traces, metrics of every point kind,
// logs), records survive encode -> decode in both encodings, malformed bodies
// are refused with a reason (never a crash), rejected records are counted
// and reported, and the partial-success response has the spec's shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <tuple>

#include <nlohmann/json.hpp>

#include "ingest/otlp_decode.h"
#include "ingest/source.h"
#include "otlp_proto/logs_service.pb.h"
#include "otlp_proto/metrics_service.pb.h"
#include "otlp_proto/trace_service.pb.h"
#include "test_util.h"

namespace rslicer {
namespace {

// The generated message classes (src/ingest/otlp_proto/).
namespace otlp = opentelemetry::proto;
using TraceRequest = otlp::collector::trace::v1::ExportTraceServiceRequest;
using MetricsRequest = otlp::collector::metrics::v1::ExportMetricsServiceRequest;
using LogsRequest = otlp::collector::logs::v1::ExportLogsServiceRequest;
using nlohmann::json;

// ------------------------------------------------------------ helpers

// A record in words (names, not ids), so records of two catalogs compare.
std::string describe(const Record& r, const Catalog& c) {
  auto entity = [&](Id e) {
    if (e >= c.entities.size()) return std::string("?");
    const EntityInfo& info = c.entity_info[e];
    std::string s = c.entities.name(e) + "/" + entity_kind_name(info.kind);
    if (info.service != kNoId) s += " svc=" + c.entities.name(info.service);
    if (info.node != kNoId) s += " node=" + c.entities.name(info.node);
    return s;
  };
  char buf[64];
  if (const auto* m = std::get_if<MetricPoint>(&r)) {
    std::snprintf(buf, sizeof buf, "%.17g", m->value);
    return "M " + std::to_string(m->time) + " " + entity(m->entity) + " " + c.kpis.name(m->kpi) + " = " + buf;
  }
  if (const auto* s = std::get_if<Span>(&r)) {
    return "S " + std::to_string(s->start) + "+" + std::to_string(s->duration_us) + " " + entity(s->entity) + " " +
           c.operations.name(s->operation) + " " + s->trace_id.str() + "/" + s->span_id.str() + "<" +
           s->parent_id.str() + " code=" + std::to_string(s->status_code) + (s->error ? " ERROR" : " ok") +
           (s->peer != kNoId ? " peer=" + entity(s->peer) : "");
  }
  const auto& l = std::get<LogRecord>(r);
  return "L " + std::to_string(l.time) + " " + entity(l.entity) + " " + log_level_name(l.level) + " [" + l.message +
         "] " + l.trace_id.str() + "/" + l.span_id.str();
}

std::vector<std::string> describe_all(const std::vector<Record>& rs, const Catalog& c, bool sorted = false) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(describe(r, c));
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

// One decoder with its own catalog and counters.
struct Sink {
  Catalog catalog;
  ParseStats stats;
  ReadCounts counts;
  OtlpDecoder decoder{catalog, stats, counts};
  std::vector<Record> records;

  OtlpDecodeResult json_body(const std::string& body, OtlpSignal s) { return decoder.decode_json(body, s, records); }
  OtlpDecodeResult proto_body(const std::string& body, OtlpSignal s) {
    return decoder.decode_protobuf(body, s, records);
  }
  std::vector<std::string> text(bool sorted = false) const { return describe_all(records, catalog, sorted); }
};

// Decodes the JSON form of a request into `j` and its protobuf form into
// `p`: both accepted, nothing rejected, the same records and counts.
void decode_both(Sink& j, const std::string& json_body, Sink& p, const std::string& proto_body, OtlpSignal s) {
  const auto rj = j.json_body(json_body, s);
  const auto rp = p.proto_body(proto_body, s);
  ASSERT_TRUE(rj.ok) << rj.error;
  ASSERT_TRUE(rp.ok) << rp.error;
  EXPECT_EQ(rj.records, rp.records);
  EXPECT_EQ(rj.rejected + rp.rejected, 0);
  EXPECT_EQ(j.stats.rejected + p.stats.rejected, 0);
  EXPECT_EQ(j.text(), p.text());
  EXPECT_EQ(j.counts.metric_rows, p.counts.metric_rows);
  EXPECT_EQ(j.counts.metric_points, p.counts.metric_points);
  EXPECT_EQ(j.counts.metric_non_finite, p.counts.metric_non_finite);
  EXPECT_EQ(j.counts.spans, p.counts.spans);
  EXPECT_EQ(j.counts.log_records, p.counts.log_records);
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

void add_attr(google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>* attrs, const std::string& key,
              const std::string& v) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(v);
}

void add_int_attr(google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>* attrs, const std::string& key,
                  std::int64_t v) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(v);
}

const char* kPodResourceJson = R"({"attributes":[{"key":"service.name","value":{"stringValue":"cart"}},)"
                               R"({"key":"k8s.pod.name","value":{"stringValue":"cart-7d9f8b6c5-abcde"}},)"
                               R"({"key":"k8s.node.name","value":{"stringValue":"node-1"}}]})";

template <typename Resource>
void pod_resource(Resource* r) {
  add_attr(r->mutable_attributes(), "service.name", "cart");
  add_attr(r->mutable_attributes(), "k8s.pod.name", "cart-7d9f8b6c5-abcde");
  add_attr(r->mutable_attributes(), "k8s.node.name", "node-1");
}

constexpr std::uint64_t kT0 = 1700000000000000000ULL;  // ns
const std::string kTrace = "0af7651916cd43dd8448eb211c80319c";

// ------------------------------------------------------------ (a) the same request in both encodings

std::string traces_json() {
  auto span = [](const char* id, const char* parent, const char* name, int start_ms, int end_ms, const char* attrs,
                 const char* status) {
    return std::string(R"({"traceId":")") + kTrace + R"(","spanId":")" + id + R"(","parentSpanId":")" + parent +
           R"(","name":")" + name + R"(","kind":2,"startTimeUnixNano":")" +
           std::to_string(kT0 + start_ms * 1000000ULL) + R"(","endTimeUnixNano":")" +
           std::to_string(kT0 + end_ms * 1000000ULL) + R"(","attributes":[)" + attrs + "]" + status + "}";
  };
  return std::string(R"({"resourceSpans":[{"resource":)") + kPodResourceJson +
         R"(,"scopeSpans":[{"scope":{"name":"otel"},"spans":[)" +
         span("b7ad6b7169203331", "", "GET /cart", 0, 250,
              R"({"key":"http.response.status_code","value":{"intValue":"503"}})",
              R"(,"status":{"code":2,"message":"x"})") +
         "," +
         span("00f067aa0ba902b7", "b7ad6b7169203331", "redis GET", 10, 20,
              R"({"key":"rpc.grpc.status_code","value":{"intValue":"14"}})", "") +
         "," +
         span("1111111111111111", "b7ad6b7169203331", "GET /item", 30, 31,
              R"({"key":"http.status_code","value":{"intValue":"404"}})", R"(,"status":{"code":2})") +
         "," +
         span("2222222222222222", "0000000000000000", "GET /health", 40, 40,
              R"({"key":"http.response.status_code","value":{"intValue":"500"}})", R"(,"status":{"code":1})") +
         "]}]}]}";
}

std::string traces_protobuf() {
  TraceRequest req;
  auto* rs = req.add_resource_spans();
  pod_resource(rs->mutable_resource());
  auto* scope = rs->add_scope_spans();
  scope->mutable_scope()->set_name("otel");
  auto span = [&](const char* id, const char* parent, const char* name, int start_ms, int end_ms, const char* key,
                  int code, int status) {
    auto* s = scope->add_spans();
    s->set_trace_id(unhex(kTrace));
    s->set_span_id(unhex(id));
    s->set_parent_span_id(unhex(parent));
    s->set_name(name);
    s->set_kind(otlp::trace::v1::Span::SPAN_KIND_SERVER);
    s->set_start_time_unix_nano(kT0 + start_ms * 1000000ULL);
    s->set_end_time_unix_nano(kT0 + end_ms * 1000000ULL);
    add_int_attr(s->mutable_attributes(), key, code);
    if (status) s->mutable_status()->set_code(static_cast<otlp::trace::v1::Status::StatusCode>(status));
  };
  span("b7ad6b7169203331", "", "GET /cart", 0, 250, "http.response.status_code", 503, 2);
  span("00f067aa0ba902b7", "b7ad6b7169203331", "redis GET", 10, 20, "rpc.grpc.status_code", 14, 0);
  span("1111111111111111", "b7ad6b7169203331", "GET /item", 30, 31, "http.status_code", 404, 2);
  span("2222222222222222", "0000000000000000", "GET /health", 40, 40, "http.response.status_code", 500, 1);
  return req.SerializeAsString();
}

TEST(OtlpDecode, TracesDecodeTheSameFromJsonAndProtobuf) {
  Sink j, p;
  decode_both(j, traces_json(), p, traces_protobuf(), OtlpSignal::kTraces);
  // The records themselves: hex ids that join, root spans, status rules.
  const std::vector<std::string> want = {
      "S 1700000000000000+250000 cart-7d9f8b6c5-abcde/pod svc=cart node=node-1 GET /cart " + kTrace +
          "/b7ad6b7169203331< code=503 ERROR",
      "S 1700000000010000+10000 cart-7d9f8b6c5-abcde/pod svc=cart node=node-1 redis GET " + kTrace +
          "/00f067aa0ba902b7<b7ad6b7169203331 code=14 ERROR",
      "S 1700000000030000+1000 cart-7d9f8b6c5-abcde/pod svc=cart node=node-1 GET /item " + kTrace +
          "/1111111111111111<b7ad6b7169203331 code=404 ERROR",
      "S 1700000000040000+0 cart-7d9f8b6c5-abcde/pod svc=cart node=node-1 GET /health " + kTrace +
          "/2222222222222222< code=500 ok",
  };
  EXPECT_EQ(p.text(), want);
}

std::string metrics_json() {
  const std::string t = std::to_string(kT0);
  return std::string(R"({"resourceMetrics":[{"resource":)") + kPodResourceJson +
         R"(,"scopeMetrics":[{"scope":{"name":"otel"},"metrics":[)"
         R"({"name":"cpu","unit":"1","gauge":{"dataPoints":[{"timeUnixNano":")" +
         t +
         R"(","asDouble":0.25,"attributes":[{"key":"core","value":{"stringValue":"0"}}]},)"
         R"({"timeUnixNano":")" +
         t + R"(","asInt":"3"},{"timeUnixNano":")" + t +
         R"(","asDouble":"NaN"}]}},)"
         R"({"name":"requests","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[)"
         R"({"timeUnixNano":")" +
         t +
         R"(","asInt":"42","attributes":[{"key":"method","value":{"stringValue":"GET"}},)"
         R"({"key":"code","value":{"intValue":"200"}}]}]}},)"
         R"({"name":"latency","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":")" +
         t +
         R"(","count":"4","sum":2,"bucketCounts":["1","3"],"explicitBounds":[0.5],"min":0.1,"max":0.9}]}},)"
         R"({"name":"size","exponentialHistogram":{"dataPoints":[{"timeUnixNano":")" +
         t +
         R"(","count":"5","sum":10,"scale":1,"min":1,"max":4}]}},)"
         R"({"name":"rt","summary":{"dataPoints":[{"timeUnixNano":")" +
         t +
         R"(","count":"2","sum":3,"quantileValues":[{"quantile":0.5,"value":1},{"quantile":0.999,"value":2}]},)"
         R"({"timeUnixNano":")" +
         t +
         R"(","flags":1}]}}]}]},)"
         R"({"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"node-7"}}]},)"
         R"("scopeMetrics":[{"metrics":[{"name":"load","gauge":{"dataPoints":[{"timeUnixNano":")" +
         t + R"(","asDouble":1.5}]}}]}]}]})";
}

// A data point at kT0 of a new metric `name` of the kind `data` makes.
template <typename Scope, typename Data>
auto* add_point(Scope* scope, const char* name, Data* (otlp::metrics::v1::Metric::*data)()) {
  auto* m = scope->add_metrics();
  m->set_name(name);
  auto* p = (m->*data)()->add_data_points();
  p->set_time_unix_nano(kT0);
  return p;
}

template <typename Point>
void set_distribution(Point* p, std::uint64_t count, double sum, double min, double max) {
  p->set_count(count);
  p->set_sum(sum);
  p->set_min(min);
  p->set_max(max);
}

std::string metrics_protobuf() {
  MetricsRequest req;
  auto* rm = req.add_resource_metrics();
  pod_resource(rm->mutable_resource());
  auto* scope = rm->add_scope_metrics();
  scope->mutable_scope()->set_name("otel");
  auto* cpu = scope->add_metrics();
  cpu->set_name("cpu");
  cpu->set_unit("1");
  auto* dp = cpu->mutable_gauge()->add_data_points();
  dp->set_time_unix_nano(kT0);
  dp->set_as_double(0.25);
  add_attr(dp->mutable_attributes(), "core", "0");
  dp = cpu->mutable_gauge()->add_data_points();
  dp->set_time_unix_nano(kT0);
  dp->set_as_int(3);
  dp = cpu->mutable_gauge()->add_data_points();
  dp->set_time_unix_nano(kT0);
  dp->set_as_double(std::nan(""));
  auto* req_m = scope->add_metrics();
  req_m->set_name("requests");
  req_m->mutable_sum()->set_aggregation_temporality(2);
  req_m->mutable_sum()->set_is_monotonic(true);
  dp = req_m->mutable_sum()->add_data_points();
  dp->set_time_unix_nano(kT0);
  dp->set_as_int(42);
  add_attr(dp->mutable_attributes(), "method", "GET");
  add_int_attr(dp->mutable_attributes(), "code", 200);
  set_distribution(add_point(scope, "latency", &otlp::metrics::v1::Metric::mutable_histogram), 4, 2, 0.1, 0.9);
  set_distribution(add_point(scope, "size", &otlp::metrics::v1::Metric::mutable_exponential_histogram), 5, 10, 1, 4);
  auto* rt = scope->add_metrics();
  rt->set_name("rt");
  auto* s = rt->mutable_summary()->add_data_points();
  s->set_time_unix_nano(kT0);
  s->set_count(2);
  s->set_sum(3);
  for (auto [q, v] : {std::pair<double, double>{0.5, 1}, {0.999, 2}}) {
    auto* qv = s->add_quantile_values();
    qv->set_quantile(q);
    qv->set_value(v);
  }
  s = rt->mutable_summary()->add_data_points();
  s->set_time_unix_nano(kT0);
  s->set_flags(1);
  auto* node = req.add_resource_metrics();
  add_attr(node->mutable_resource()->mutable_attributes(), "host.name", "node-7");
  auto* load = node->add_scope_metrics()->add_metrics();
  load->set_name("load");
  dp = load->mutable_gauge()->add_data_points();
  dp->set_time_unix_nano(kT0);
  dp->set_as_double(1.5);
  return req.SerializeAsString();
}

TEST(OtlpDecode, MetricsOfEveryPointKindDecodeTheSameFromJsonAndProtobuf) {
  Sink j, p;
  decode_both(j, metrics_json(), p, metrics_protobuf(), OtlpSignal::kMetrics);
  std::vector<std::string> kpis;
  for (const auto& line : p.text()) kpis.push_back(line.substr(line.rfind(' ', line.find(" = ") - 1) + 1));
  const std::vector<std::string> want = {"cpu{core=0} = 0.25",
                                         "cpu = 3",
                                         "requests{code=200,method=GET} = 42",
                                         "latency.count = 4",
                                         "latency.sum = 2",
                                         "latency.mean = 0.5",
                                         "latency.min = 0.10000000000000001",
                                         "latency.max = 0.90000000000000002",
                                         "size.count = 5",
                                         "size.sum = 10",
                                         "size.mean = 2",
                                         "size.min = 1",
                                         "size.max = 4",
                                         "rt.count = 2",
                                         "rt.sum = 3",
                                         "rt.mean = 1.5",
                                         "rt.p50 = 1",
                                         "rt.p99.9 = 2",
                                         "load = 1.5"};
  EXPECT_EQ(kpis, want);
  EXPECT_EQ(p.records.size(), want.size());
  EXPECT_EQ(p.counts.metric_rows, 9);        // data points read
  EXPECT_EQ(p.counts.metric_non_finite, 2);  // the NaN gauge and the NO_RECORDED_VALUE summary point
  EXPECT_NE(p.text().back().find("node-7/node"), std::string::npos);
}

std::string logs_json() {
  const std::string t = std::to_string(kT0);
  return std::string(R"({"resourceLogs":[{"resource":)") + kPodResourceJson +
         R"(,"scopeLogs":[{"scope":{"name":"otel"},"logRecords":[)"
         R"({"timeUnixNano":")" +
         t +
         R"(","severityNumber":13,"severityText":"WARN","body":{"stringValue":"slow call"},)"
         R"("traceId":")" +
         kTrace +
         R"(","spanId":"b7ad6b7169203331"},)"
         R"({"observedTimeUnixNano":")" +
         t +
         R"(","severityNumber":18,"body":{"intValue":"7"}},)"
         R"({"timeUnixNano":")" +
         t +
         R"(","severityText":"info","body":{"kvlistValue":{"values":[)"
         R"({"key":"k","value":{"stringValue":"v"}},{"key":"n","value":{"arrayValue":{"values":[{"intValue":"1"},)"
         R"({"doubleValue":2.5},{"boolValue":true}]}}}]}}},)"
         R"({"timeUnixNano":")" +
         t +
         R"(","severityNumber":21,"body":{"bytesValue":"AAEC"},)"
         R"("traceId":"00000000000000000000000000000000","spanId":"0000000000000000"}]}]}]})";
}

std::string logs_protobuf() {
  LogsRequest req;
  auto* rl = req.add_resource_logs();
  pod_resource(rl->mutable_resource());
  auto* scope = rl->add_scope_logs();
  scope->mutable_scope()->set_name("otel");
  auto* a = scope->add_log_records();
  a->set_time_unix_nano(kT0);
  a->set_severity_number(otlp::logs::v1::SEVERITY_NUMBER_WARN);
  a->set_severity_text("WARN");
  a->mutable_body()->set_string_value("slow call");
  a->set_trace_id(unhex(kTrace));
  a->set_span_id(unhex("b7ad6b7169203331"));
  auto* b = scope->add_log_records();
  b->set_observed_time_unix_nano(kT0);
  b->set_severity_number(static_cast<otlp::logs::v1::SeverityNumber>(18));
  b->mutable_body()->set_int_value(7);
  auto* c = scope->add_log_records();
  c->set_time_unix_nano(kT0);
  c->set_severity_text("info");
  auto* kv = c->mutable_body()->mutable_kvlist_value();
  add_attr(kv->mutable_values(), "k", "v");
  auto* n = kv->add_values();
  n->set_key("n");
  auto* arr = n->mutable_value()->mutable_array_value();
  arr->add_values()->set_int_value(1);
  arr->add_values()->set_double_value(2.5);
  arr->add_values()->set_bool_value(true);
  auto* d = scope->add_log_records();
  d->set_time_unix_nano(kT0);
  d->set_severity_number(otlp::logs::v1::SEVERITY_NUMBER_FATAL);
  d->mutable_body()->set_bytes_value(std::string("\0\1\2", 3));
  d->set_trace_id(std::string(16, '\0'));
  d->set_span_id(std::string(8, '\0'));
  return req.SerializeAsString();
}

TEST(OtlpDecode, LogsDecodeTheSameFromJsonAndProtobuf) {
  Sink j, p;
  decode_both(j, logs_json(), p, logs_protobuf(), OtlpSignal::kLogs);
  const std::string pod = " cart-7d9f8b6c5-abcde/pod svc=cart node=node-1 ";
  const std::vector<std::string> want = {
      "L 1700000000000000" + pod + "WARN [slow call] " + kTrace + "/b7ad6b7169203331",
      "L 1700000000000000" + pod + "ERROR [7] /",
      "L 1700000000000000" + pod +
          R"(INFO [{"values":[{"key":"k","value":{"stringValue":"v"}},{"key":"n","value":{"arrayValue":)"
          R"({"values":[{"intValue":"1"},{"doubleValue":2.5},{"boolValue":true}]}}}]}] /)",
      "L 1700000000000000" + pod + "FATAL [AAEC] /",
  };
  EXPECT_EQ(p.text(), want);
}

TEST(OtlpDecode, ContainersOfOnePodAndReplicasOfOneServiceStayApart) {
  // An istio-proxy sidecar beside the app reports the same metric as the app; two replicas share service.name.
  const std::string t = std::to_string(kT0);
  auto resource = [](const std::vector<std::pair<const char*, const char*>>& attrs) {
    std::string r = R"({"attributes":[)";
    for (size_t i = 0; i < attrs.size(); ++i)
      r += std::string(i ? "," : "") + R"({"key":")" + attrs[i].first + R"(","value":{"stringValue":")" +
           attrs[i].second + R"("}})";
    return r + "]}";
  };
  auto block = [&](const std::string& res, double v) {
    return R"({"resource":)" + res + R"(,"scopeMetrics":[{"metrics":[{"name":"cpu","gauge":{"dataPoints":[)"
           R"({"timeUnixNano":")" + t + R"(","asDouble":)" + std::to_string(v) + "}]}}]}]}";
  };
  const std::string pod = "cart-7d9f8b6c5-abcde";
  const std::string body =
      R"({"resourceMetrics":[)" +
      block(resource({{"k8s.pod.name", pod.c_str()}, {"k8s.container.name", "cart"}}), 0.5) + "," +
      block(resource({{"k8s.pod.name", pod.c_str()}, {"k8s.container.name", "istio-proxy"}}), 0.1) + "," +
      block(resource({{"service.name", "checkout"}, {"service.instance.id", "a1"}}), 0.7) + "," +
      block(resource({{"service.name", "checkout"}, {"service.instance.id", "b2"}, {"host.name", "vm-2"}}), 0.9) +
      "]}";
  Sink j;
  ASSERT_TRUE(j.json_body(body, OtlpSignal::kMetrics).ok);
  const std::vector<std::string> want = {
      "M 1700000000000000 " + pod + "/pod svc=cart cpu{k8s.container.name=cart} = 0.5",
      "M 1700000000000000 " + pod + "/pod svc=cart cpu{k8s.container.name=istio-proxy} = 0.10000000000000001",
      "M 1700000000000000 checkout/a1/instance svc=checkout cpu = 0.69999999999999996",
      "M 1700000000000000 checkout/b2/instance svc=checkout node=vm-2 cpu = 0.90000000000000002",
  };
  EXPECT_EQ(j.text(), want);
  // Instances survive encode -> decode in both encodings.
  for (bool protobuf : {false, true}) {
    Sink back;
    const std::string enc = protobuf ? encode_otlp_protobuf(j.records, j.catalog, OtlpSignal::kMetrics)
                                     : encode_otlp_json(j.records, j.catalog, OtlpSignal::kMetrics);
    ASSERT_TRUE(protobuf ? back.proto_body(enc, OtlpSignal::kMetrics).ok : back.json_body(enc, OtlpSignal::kMetrics).ok);
    EXPECT_EQ(back.text(), want) << (protobuf ? "protobuf" : "json");
  }
}

TEST(OtlpDecode, GrpcErrorsBehindHttpSuccessAndStructuredLogBodies) {
  // gRPC answers with HTTP 200 and puts its status in a trailer: UNAVAILABLE (14) behind 200 is an error.
  const std::string t = std::to_string(kT0);
  auto span_json = [&](const char* id, const char* attrs) {
    return std::string(R"({"traceId":")") + kTrace + R"(","spanId":")" + id + R"(","name":"op","startTimeUnixNano":")" +
           t + R"(","attributes":[)" + attrs + "]}";
  };
  const std::string traces = std::string(R"({"resourceSpans":[{"resource":)") + kPodResourceJson +
                             R"(,"scopeSpans":[{"spans":[)" +
                             span_json("0000000000000001", R"({"key":"http.status_code","value":{"intValue":"200"}},)"
                                                           R"({"key":"rpc.grpc.status_code","value":{"intValue":"14"}})") +
                             "," +
                             span_json("0000000000000002", R"({"key":"http.status_code","value":{"intValue":"200"}},)"
                                                           R"({"key":"rpc.grpc.status_code","value":{"intValue":"0"}})") +
                             "," +
                             span_json("0000000000000003", R"({"key":"http.response.status_code","value":{"intValue":"503"}},)"
                                                           R"({"key":"rpc.grpc.status_code","value":{"intValue":"0"}})") +
                             "]}]}]}";
  TraceRequest treq;
  auto* rs = treq.add_resource_spans();
  pod_resource(rs->mutable_resource());
  auto* spans = rs->add_scope_spans();
  for (const auto& [id, key, http, grpc] : std::vector<std::tuple<const char*, const char*, int, int>>{
           {"0000000000000001", "http.status_code", 200, 14},
           {"0000000000000002", "http.status_code", 200, 0},
           {"0000000000000003", "http.response.status_code", 503, 0}}) {
    auto* sp = spans->add_spans();
    sp->set_trace_id(unhex(kTrace));
    sp->set_span_id(unhex(id));
    sp->set_name("op");
    sp->set_start_time_unix_nano(kT0);
    add_int_attr(sp->mutable_attributes(), key, http);
    add_int_attr(sp->mutable_attributes(), "rpc.grpc.status_code", grpc);
  }
  Sink j, p;
  decode_both(j, traces, p, treq.SerializeAsString(), OtlpSignal::kTraces);
  const std::vector<std::string> codes = {"code=14 ERROR", "code=200 ok", "code=503 ERROR"};
  ASSERT_EQ(p.records.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(p.text()[i].find(codes[i]), std::string::npos) << p.text()[i];

  // Map-valued log bodies (JSON loggers): the message and level keys, not the raw JSON.
  auto kv = [](const char* k, const char* v) {
    return std::string(R"({"key":")") + k + R"(","value":{"stringValue":")" + v + R"("}})";
  };
  auto log_json = [&](const std::string& severity, const std::string& values) {
    return std::string(R"({"timeUnixNano":")") + t + "\"" + severity + R"(,"body":{"kvlistValue":{"values":[)" + values +
           "]}}}";
  };
  const std::string logs =
      std::string(R"({"resourceLogs":[{"resource":)") + kPodResourceJson + R"(,"scopeLogs":[{"logRecords":[)" +
      log_json("", kv("Level", "error") + "," + kv("msg", "db down") + "," + kv("user", "u1")) + "," +
      log_json(R"(,"severityText":"WARN")", kv("level", "info") + "," + kv("message", "retrying")) + "," +
      log_json("", kv("k", "v")) + "]}]}]}";
  LogsRequest lreq;
  auto* rl = lreq.add_resource_logs();
  pod_resource(rl->mutable_resource());
  auto* scope = rl->add_scope_logs();
  for (const auto& [severity, pairs] : std::vector<std::pair<const char*, std::vector<std::pair<const char*, const char*>>>>{
           {"", {{"Level", "error"}, {"msg", "db down"}, {"user", "u1"}}},
           {"WARN", {{"level", "info"}, {"message", "retrying"}}},
           {"", {{"k", "v"}}}}) {
    auto* lr = scope->add_log_records();
    lr->set_time_unix_nano(kT0);
    lr->set_severity_text(severity);
    for (const auto& [k, v] : pairs) add_attr(lr->mutable_body()->mutable_kvlist_value()->mutable_values(), k, v);
  }
  Sink jl, pl;
  decode_both(jl, logs, pl, lreq.SerializeAsString(), OtlpSignal::kLogs);
  ASSERT_EQ(pl.records.size(), 3u);
  EXPECT_NE(pl.text()[0].find("ERROR [db down]"), std::string::npos) << pl.text()[0];
  EXPECT_NE(pl.text()[1].find("WARN [retrying]"), std::string::npos) << pl.text()[1];  // the record's severity wins
  EXPECT_NE(pl.text()[2].find(R"(UNKNOWN [{"values":[{"key":"k")"), std::string::npos) << pl.text()[2];
}

// ------------------------------------------------------------ (b) encode -> decode

struct Fixture {
  Catalog catalog;
  std::vector<Record> records;
};

Fixture make_fixture() {
  Fixture f;
  Catalog& c = f.catalog;
  const Id node = c.entity("node-1", EntityKind::kNode);
  const Id pod = c.entity("ts-order-service-5d4f8c9b7-abcde", EntityKind::kPod);
  c.entity_info[pod].node = node;
  const Id pod2 = c.entity("redis-0", EntityKind::kPod, "redis");
  const Id svc = c.entity("gateway", EntityKind::kService);
  const TimeUs t = 1700000000000000;
  for (const auto& [e, kpi, v] : std::vector<std::tuple<Id, const char*, double>>{{pod, "CpuUsage(m)", 12.5},
                                                                                  {pod, "mem{area=heap}", 1e9},
                                                                                  {pod2, "CpuUsage(m)", 0.1},
                                                                                  {node, "NodeCpuUsageRate(%)", 37},
                                                                                  {svc, "latency.p99", 0.25},
                                                                                  {pod, "CpuUsage(m)", -3}})
    f.records.emplace_back(MetricPoint{t + static_cast<TimeUs>(v > 1 ? 1000 : 0), e, c.kpis.intern(kpi), v});
  auto span = [&](Id e, const char* op, const char* id, const char* parent, std::int32_t code, bool error,
                  Id peer = kNoId) {
    Span s;
    s.peer = peer;
    s.start = t + 5;
    s.duration_us = 1234;
    s.entity = e;
    s.operation = c.operations.intern(op);
    s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    s.span_id = id;
    s.parent_id = parent;
    s.status_code = code;
    s.error = error;
    f.records.emplace_back(std::move(s));
  };
  span(svc, "POST /api/v1/order", "00f067aa0ba902b7", "", 200, false);
  span(pod, "createOrder", "53995c3f42cd8ad8", "00f067aa0ba902b7", 503, true);
  span(pod, "checkStock", "a2fb4a1d1a96d312", "53995c3f42cd8ad8", 500, false);  // an explicit OK
  span(pod2, "GET", "ffffffffffffffff", "a2fb4a1d1a96d312", 0, true);
  span(pod2, "grpc.Get", "0102030405060708", "a2fb4a1d1a96d312", 14, true);
  span(pod2, "grpc.Set", "0102030405060709", "a2fb4a1d1a96d312", 5, false);
  // a client span into a database without spans of its own
  span(pod, "SELECT orders", "0102030405060710", "53995c3f42cd8ad8", 0, false, c.entity("mysql", EntityKind::kService));
  auto log = [&](Id e, LogLevel level, const char* msg, const char* trace, const char* sid) {
    LogRecord l;
    l.time = t + 7;
    l.entity = e;
    l.level = level;
    l.message = msg;
    l.trace_id = trace;
    l.span_id = sid;
    f.records.emplace_back(std::move(l));
  };
  log(pod, LogLevel::kError, "order failed: \"timeout\"\n\tat x", "4bf92f3577b34da6a3ce929d0e0e4736",
      "53995c3f42cd8ad8");
  log(pod, LogLevel::kUnknown, "plain line", "", "");
  log(pod2, LogLevel::kTrace, "", "", "");
  log(node, LogLevel::kFatal, "kernel: oom \xc3\xa9", "", "");
  log(svc, LogLevel::kWarn, "retrying", "", "");
  return f;
}

std::vector<Record> of_signal(const std::vector<Record>& rs, OtlpSignal s) {
  const size_t index = s == OtlpSignal::kMetrics ? 0 : s == OtlpSignal::kTraces ? 1 : 2;  // Record's variant order
  std::vector<Record> out;
  for (const auto& r : rs)
    if (r.index() == index) out.push_back(r);
  return out;
}

TEST(OtlpDecode, ClientSpansNameTheirCalleeFromPeerAttributes) {
  // (kind, attributes) -> the callee the span names, or "" for none
  struct Case {
    int kind;
    std::vector<std::pair<const char*, const char*>> attrs;
    const char* peer;
  };
  const std::vector<Case> cases = {
      {3, {{"peer.service", "mysql"}, {"server.address", "db-7.example.com"}}, "mysql/service"},  // peer.service wins
      {3, {{"server.address", "ledger.payments.svc.cluster.local"}}, "ledger/service"},  // Kubernetes service DNS
      {3, {{"server.address", "cart.shop"}}, "cart/service"},        // first label: an entity already known
      {3, {{"server.address", "api.example.com"}}, "api.example.com/service"},  // else the whole host
      {3, {{"net.peer.name", "redis:6379"}}, "redis/service"},       // the older key; port dropped
      {4, {{"server.address", "kafka"}}, "kafka/service"},           // a producer calls its broker
      {3, {{"server.address", "10.0.3.7"}}, ""},                     // an address names no service
      {3, {{"server.address", "fe80::1"}}, ""},
      {2, {{"server.address", "mysql"}}, ""},                        // a server span's address is its own
      {1, {{"peer.service", "mysql"}}, ""},                          // internal
      {3, {}, ""},
  };
  std::string spans_json;
  TraceRequest req;
  auto* rs = req.add_resource_spans();
  pod_resource(rs->mutable_resource());
  auto* scope = rs->add_scope_spans();
  for (size_t i = 0; i < cases.size(); ++i) {
    char id[17];
    std::snprintf(id, sizeof id, "%016zx", i + 1);
    std::string attrs;
    auto* sp = scope->add_spans();
    sp->set_trace_id(unhex(kTrace));
    sp->set_span_id(unhex(id));
    sp->set_name("call");
    sp->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(cases[i].kind));
    sp->set_start_time_unix_nano(kT0);
    sp->set_end_time_unix_nano(kT0 + 1000000);
    for (const auto& [k, v] : cases[i].attrs) {
      add_attr(sp->mutable_attributes(), k, v);
      attrs += std::string(attrs.empty() ? "" : ",") + R"({"key":")" + k + R"(","value":{"stringValue":")" + v + R"("}})";
    }
    // protojson may spell the kind as its enum name
    const char* const names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                                 "SPAN_KIND_PRODUCER"};
    const std::string kind = i % 2 ? std::to_string(cases[i].kind) : "\"" + std::string(names[cases[i].kind]) + "\"";
    spans_json += std::string(spans_json.empty() ? "" : ",") + R"({"traceId":")" + kTrace + R"(","spanId":")" + id +
                  R"(","name":"call","kind":)" + kind + R"(,"startTimeUnixNano":")" + std::to_string(kT0) +
                  R"(","endTimeUnixNano":")" + std::to_string(kT0 + 1000000) + R"(","attributes":[)" + attrs + "]}";
  }
  const std::string body = std::string(R"({"resourceSpans":[{"resource":)") + kPodResourceJson +
                           R"(,"scopeSpans":[{"spans":[)" + spans_json + "]}]}]}";
  Sink j, p;
  decode_both(j, body, p, req.SerializeAsString(), OtlpSignal::kTraces);
  ASSERT_EQ(p.records.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string text = p.text()[i];
    const auto at = text.find(" peer=");
    EXPECT_EQ(at == std::string::npos ? std::string() : text.substr(at + 6), cases[i].peer) << "case " << i << ": " << text;
  }
}

TEST(OtlpDecode, RecordsSurviveEncodeAndDecodeInBothEncodings) {
  const Fixture f = make_fixture();
  for (OtlpSignal s : {OtlpSignal::kTraces, OtlpSignal::kMetrics, OtlpSignal::kLogs}) {
    const auto want = describe_all(of_signal(f.records, s), f.catalog, true);
    ASSERT_FALSE(want.empty());
    for (bool protobuf : {false, true}) {
      SCOPED_TRACE(std::string(otlp_signal_name(s)) + (protobuf ? " protobuf" : " json"));
      const std::string body =
          protobuf ? encode_otlp_protobuf(f.records, f.catalog, s) : encode_otlp_json(f.records, f.catalog, s);
      Sink d;
      const auto r = protobuf ? d.proto_body(body, s) : d.json_body(body, s);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.records, static_cast<std::int64_t>(want.size()));
      EXPECT_EQ(r.rejected, 0) << r.first_reject;
      EXPECT_EQ(d.text(true), want);
    }
  }
  // OTLP/JSON carries ids as hex, enums as integers.
  const std::string traces = encode_otlp_json(f.records, f.catalog, OtlpSignal::kTraces);
  EXPECT_NE(traces.find(R"("traceId":"4bf92f3577b34da6a3ce929d0e0e4736")"), std::string::npos) << traces;
  EXPECT_NE(traces.find(R"("parentSpanId":"00f067aa0ba902b7")"), std::string::npos);
  EXPECT_NE(traces.find(R"("code":2)"), std::string::npos);
  EXPECT_NE(traces.find(R"("startTimeUnixNano":"1700000000000005000")"), std::string::npos);
}

TEST(OtlpDecode, EncodedJsonLinesReadBackThroughTheFileReader) {
  const Fixture f = make_fixture();
  const std::string dir = testing::make_temp_dir("otlp_decode");
  std::string text;
  for (OtlpSignal s : {OtlpSignal::kMetrics, OtlpSignal::kTraces, OtlpSignal::kLogs})
    text += encode_otlp_json(f.records, f.catalog, s) + "\n";
  testing::write_file(dir + "/all.jsonl", text);
  auto src = open_source(dir, "otlp", {});
  std::vector<Record> got;
  auto stream = src->open();
  Record r;
  while (stream->next(r)) got.push_back(r);
  EXPECT_EQ(describe_all(got, src->catalog(), true), describe_all(f.records, f.catalog, true));
  EXPECT_EQ(src->stats().rejected, 0);
  std::filesystem::remove_all(dir);
}

TEST(OtlpDecode, IdsThatAreNotHexJoinTheSameWayInBothEncodings) {
  Fixture f;
  const Id pod = f.catalog.entity("web-1", EntityKind::kPod, "web");
  Span a;
  a.start = 1700000000000000;
  a.entity = pod;
  a.operation = f.catalog.operations.intern("a");
  a.trace_id = "trace-1";
  a.span_id = "A";
  Span b = a;
  b.span_id = "0B";  // hex, upper case
  b.parent_id = "A";
  f.records = {a, b};
  Sink j, p;
  ASSERT_TRUE(j.json_body(encode_otlp_json(f.records, f.catalog, OtlpSignal::kTraces), OtlpSignal::kTraces).ok);
  ASSERT_TRUE(p.proto_body(encode_otlp_protobuf(f.records, f.catalog, OtlpSignal::kTraces), OtlpSignal::kTraces).ok);
  EXPECT_EQ(j.text(), p.text());
  ASSERT_EQ(p.records.size(), 2u);
  const auto& sa = std::get<Span>(p.records[0]);
  const auto& sb = std::get<Span>(p.records[1]);
  EXPECT_EQ(sa.trace_id, "74726163652d31");  // hex of the text "trace-1"
  EXPECT_EQ(sb.span_id, "0b");
  EXPECT_EQ(sb.parent_id, sa.span_id);
}

// OTLP/JSON hex is case-insensitive, and protojson writers send ids in base64: every spelling of one id joins.
TEST(OtlpDecode, UpperCaseHexAndBase64IdsJoinLowerCaseHex) {
  const std::string resource = R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},)";
  auto span = [&](const std::string& trace, const std::string& id, const std::string& parent) {
    return R"({"resourceSpans":[)" + resource + R"("scopeSpans":[{"spans":[{"traceId":")" + trace + R"(","spanId":")" +
           id + R"(","parentSpanId":")" + parent +
           R"(","name":"GET /cart","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000"}]}]}]})";
  };
  Sink s;
  ASSERT_TRUE(s.json_body(span("0AF7651916CD43DD8448EB211C80319C", "B7AD6B7169203331", ""), OtlpSignal::kTraces).ok);
  ASSERT_TRUE(s.json_body(span("CvdlGRbNQ92ESOshHIAxnA==", "00f067aa0ba902b7", "t61rcWkgMzE="), OtlpSignal::kTraces).ok);
  const std::string log = R"({"resourceLogs":[)" + resource +
                          R"("scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000050000000","body":{"stringValue":"x"},)"
                          R"("traceId":"0af7651916cd43DD8448eb211c80319c","spanId":"B7AD6B7169203331"}]}]}]})";
  ASSERT_TRUE(s.json_body(log, OtlpSignal::kLogs).ok);
  ASSERT_EQ(s.records.size(), 3u);
  const auto& root = std::get<Span>(s.records[0]);
  const auto& child = std::get<Span>(s.records[1]);
  const auto& line = std::get<LogRecord>(s.records[2]);
  EXPECT_EQ(root.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(root.span_id, "b7ad6b7169203331");
  EXPECT_EQ(child.trace_id, root.trace_id);  // base64 of the same 16 bytes
  EXPECT_EQ(child.parent_id, root.span_id);  // base64 of the same 8 bytes
  EXPECT_EQ(line.trace_id, root.trace_id);
  EXPECT_EQ(line.span_id, root.span_id);
}

TEST(OtlpDecode, TextThatIsNotUtf8IsRepairedWhenEncoded) {
  Fixture f;
  LogRecord l;
  l.time = 1700000000000000;
  l.entity = f.catalog.entity("node-2", EntityKind::kNode);
  l.message = "bad \xff byte, cut \xe2\x82";
  f.records = {l};
  for (bool protobuf : {false, true}) {
    Sink d;
    const auto r = protobuf
                       ? d.proto_body(encode_otlp_protobuf(f.records, f.catalog, OtlpSignal::kLogs), OtlpSignal::kLogs)
                       : d.json_body(encode_otlp_json(f.records, f.catalog, OtlpSignal::kLogs), OtlpSignal::kLogs);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(d.records.size(), 1u);
    EXPECT_EQ(std::get<LogRecord>(d.records[0]).message, "bad \xef\xbf\xbd byte, cut \xef\xbf\xbd\xef\xbf\xbd");
  }
}

// ------------------------------------------------------------ (c) malformed bodies

TEST(OtlpDecode, MalformedBodiesAreRefusedWithAReason) {
  Sink d;
  // Protobuf: bytes that are no request, and every truncation of a valid one.
  auto r = d.proto_body("hello, world\xff\xff", OtlpSignal::kTraces);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not a protobuf ExportTraceServiceRequest"), std::string::npos) << r.error;
  const std::string body = traces_protobuf();
  for (size_t n = 1; n < body.size(); ++n) {
    r = d.proto_body(body.substr(0, n), OtlpSignal::kTraces);
    EXPECT_FALSE(r.ok) << "truncated to " << n << " of " << body.size() << " bytes";
    EXPECT_EQ(r.records, 0);
  }
  EXPECT_TRUE(d.records.empty());
  EXPECT_EQ(d.stats.by_reason["bad_protobuf"], static_cast<std::int64_t>(body.size()));
  EXPECT_TRUE(d.proto_body("", OtlpSignal::kLogs).ok);  // an empty request is a request

  // JSON: not JSON, not an object, the wrong signal, a resource array that is no array.
  r = d.json_body(R"({"resourceSpans": [)", OtlpSignal::kTraces);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("invalid JSON: parse error", 0), 0u) << r.error;
  r = d.json_body("", OtlpSignal::kTraces);
  EXPECT_FALSE(r.ok);
  r = d.json_body("[1,2]", OtlpSignal::kLogs);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not a JSON object"), std::string::npos) << r.error;
  r = d.json_body(metrics_json(), OtlpSignal::kTraces);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("resourceMetrics"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("/v1/metrics"), std::string::npos) << r.error;
  r = d.json_body(R"({"resourceLogs":{"a":1}})", OtlpSignal::kLogs);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "resourceLogs is not an array");
  EXPECT_EQ(d.stats.by_reason["bad_json"], 3);
  EXPECT_EQ(d.stats.by_reason["wrong_signal"], 1);
  EXPECT_EQ(d.stats.by_reason["bad_otlp"], 1);
  EXPECT_TRUE(d.records.empty());
  // An empty object is an empty request; unknown members are ignored.
  EXPECT_TRUE(d.json_body("{}", OtlpSignal::kMetrics).ok);
  EXPECT_TRUE(d.json_body(R"({"somethingNew":[1]})", OtlpSignal::kMetrics).ok);
}

TEST(OtlpDecode, HostileBodiesNeverCrash) {
  Sink d;
  std::mt19937 rng(7);
  // Random bytes and random corruptions of valid bodies, in both decoders.
  const std::string valid[] = {traces_protobuf(), metrics_protobuf(), logs_protobuf()};
  const std::string valid_json[] = {traces_json(), metrics_json(), logs_json()};
  for (int i = 0; i < 3000; ++i) {
    const int k = i % 3;
    std::string p = valid[k], j = valid_json[k];
    for (int n = 0; n < 1 + i % 5; ++n) {
      p[rng() % p.size()] = static_cast<char>(rng());
      j[rng() % j.size()] = "{}[]\",:0a\\"[rng() % 10];
    }
    std::string noise(rng() % 64, '\0');
    for (auto& ch : noise) ch = static_cast<char>(rng());
    const auto s = static_cast<OtlpSignal>(k);
    d.proto_body(p, s);
    d.proto_body(noise, s);
    d.json_body(j, s);
    d.json_body(noise, s);
    d.records.clear();
  }
  // Deep nesting: a JSON log body 100000 arrays deep, a protobuf AnyValue 200 deep.
  const std::string deep = std::string(R"({"resourceLogs":[{"resource":)") + kPodResourceJson +
                           R"(,"scopeLogs":[{"logRecords":[{"timeUnixNano":"1000","body":)" + std::string(100000, '[') +
                           std::string(100000, ']') + "}]}]}]}";
  auto r = d.json_body(deep, OtlpSignal::kLogs);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.records, 1);
  EXPECT_EQ(std::get<LogRecord>(d.records.back()).message, "(value nested too deep)");
  LogsRequest req;
  auto* lr = req.add_resource_logs()->add_scope_logs()->add_log_records();
  lr->set_time_unix_nano(1000);
  otlp::common::v1::AnyValue* v = lr->mutable_body();
  for (int i = 0; i < 200; ++i) v = v->mutable_array_value()->add_values();
  r = d.proto_body(req.SerializeAsString(), OtlpSignal::kLogs);
  EXPECT_FALSE(r.ok);  // beyond protobuf's nesting limit
}

// ------------------------------------------------------------ (d) per-record rejections

TEST(OtlpDecode, RejectedRecordsAreCountedAndReported) {
  const std::string t = std::to_string(kT0);
  // JSON: a span without spanId between two good ones.
  Sink j;
  auto r = j.json_body(std::string(R"({"resourceSpans":[{"resource":)") + kPodResourceJson +
                           R"(,"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"01","startTimeUnixNano":")" + t +
                           R"("},{"traceId":"ab","startTimeUnixNano":")" + t +
                           R"("},{"traceId":"ab","spanId":"02","startTimeUnixNano":")" + t + R"("}]}]}]})",
                       OtlpSignal::kTraces);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.records, 2);
  EXPECT_EQ(r.rejected, 1);
  EXPECT_EQ(r.first_reject, "span without spanId");
  EXPECT_EQ(j.stats.by_reason["missing_field"], 1);
  ASSERT_EQ(j.stats.examples.size(), 1u);
  EXPECT_EQ(j.stats.examples[0], "request: span without spanId");

  // Protobuf: the same, and a span of a resource naming no entity.
  Sink p;
  TraceRequest req;
  auto* rs = req.add_resource_spans();
  pod_resource(rs->mutable_resource());
  auto* scope = rs->add_scope_spans();
  for (const char* id : {"01", "", "02"}) {
    auto* s = scope->add_spans();
    s->set_trace_id(unhex("ab"));
    s->set_span_id(unhex(id));
    s->set_start_time_unix_nano(kT0);
  }
  auto* anon = req.add_resource_spans()->add_scope_spans()->add_spans();
  anon->set_trace_id(unhex("ab"));
  anon->set_span_id(unhex("03"));
  r = p.proto_body(req.SerializeAsString(), OtlpSignal::kTraces);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.records, 2);
  EXPECT_EQ(r.rejected, 2);
  EXPECT_EQ(r.first_reject, "span without spanId");
  EXPECT_EQ(p.stats.by_reason["missing_field"], 1);
  EXPECT_EQ(p.stats.by_reason["missing_entity"], 1);

  // Metrics: a data point without a time, in both encodings.
  const std::string metrics = std::string(R"({"resourceMetrics":[{"resource":)") + kPodResourceJson +
                              R"(,"scopeMetrics":[{"metrics":[{"name":"cpu","gauge":{"dataPoints":[)"
                              R"({"asDouble":1},{"timeUnixNano":")" +
                              t + R"(","asDouble":2}]}}]}]}]})";
  MetricsRequest mreq;
  auto* rm = mreq.add_resource_metrics();
  pod_resource(rm->mutable_resource());
  auto* gauge = rm->add_scope_metrics()->add_metrics();
  gauge->set_name("cpu");
  gauge->mutable_gauge()->add_data_points()->set_as_double(1);
  auto* good = gauge->mutable_gauge()->add_data_points();
  good->set_time_unix_nano(kT0);
  good->set_as_double(2);
  Sink mj, mp;
  const auto rj = mj.json_body(metrics, OtlpSignal::kMetrics);
  const auto rp = mp.proto_body(mreq.SerializeAsString(), OtlpSignal::kMetrics);
  for (const auto* x : {&rj, &rp}) {
    ASSERT_TRUE(x->ok) << x->error;
    EXPECT_EQ(x->records, 1);
    EXPECT_EQ(x->rejected, 1);
    EXPECT_EQ(x->first_reject, "metric 'cpu': data point without a valid timeUnixNano");
  }
  EXPECT_EQ(mj.text(), mp.text());
  EXPECT_EQ(mj.stats.by_reason["bad_time"], 1);
  EXPECT_EQ(mp.stats.by_reason["bad_time"], 1);

  // A metric without a name rejects all its data points.
  MetricsRequest nameless;
  auto* m = nameless.add_resource_metrics()->add_scope_metrics()->add_metrics();
  for (int i = 0; i < 3; ++i) m->mutable_sum()->add_data_points()->set_time_unix_nano(kT0);
  Sink n;
  r = n.proto_body(nameless.SerializeAsString(), OtlpSignal::kMetrics);
  EXPECT_EQ(r.rejected, 3);
  EXPECT_EQ(r.first_reject, "metric without a name");
  EXPECT_EQ(n.stats.rejected, 1);

  // The origin names the request in the examples; file lines keep file:line.
  Sink f;
  r = f.decoder.decode_json_any(
      R"({"resourceLogs":[{"resource":{},"scopeLogs":[{"logRecords":[{"timeUnixNano":"5"}]}]}]})", f.records, "x.jsonl",
      12);
  EXPECT_EQ(r.rejected, 1);
  ASSERT_EQ(f.stats.examples.size(), 1u);
  EXPECT_EQ(f.stats.examples[0],
            "x.jsonl:12: log record: resource has none of k8s.pod.name, service.name, k8s.node.name, host.name");
}

// ------------------------------------------------------------ (e) the response

TEST(OtlpDecode, ResponsesFollowOtlpHttp) {
  // Protobuf, parsed back with the generated classes.
  otlp::collector::trace::v1::ExportTraceServiceResponse traces;
  ASSERT_TRUE(traces.ParseFromString(encode_otlp_response(OtlpSignal::kTraces, 2, "span without spanId", true)));
  ASSERT_TRUE(traces.has_partial_success());
  EXPECT_EQ(traces.partial_success().rejected_spans(), 2);
  EXPECT_EQ(traces.partial_success().error_message(), "span without spanId");
  otlp::collector::metrics::v1::ExportMetricsServiceResponse metrics;
  ASSERT_TRUE(metrics.ParseFromString(encode_otlp_response(OtlpSignal::kMetrics, 5, "no time", true)));
  EXPECT_EQ(metrics.partial_success().rejected_data_points(), 5);
  EXPECT_EQ(metrics.partial_success().error_message(), "no time");
  otlp::collector::logs::v1::ExportLogsServiceResponse logs;
  ASSERT_TRUE(logs.ParseFromString(encode_otlp_response(OtlpSignal::kLogs, 1, "no entity", true)));
  EXPECT_EQ(logs.partial_success().rejected_log_records(), 1);
  // Full success leaves partial_success unset; a warning alone sets it with 0 rejected.
  EXPECT_EQ(encode_otlp_response(OtlpSignal::kTraces, 0, "", true), "");
  ASSERT_TRUE(logs.ParseFromString(encode_otlp_response(OtlpSignal::kLogs, 0, "deprecated field", true)));
  EXPECT_TRUE(logs.has_partial_success());
  EXPECT_EQ(logs.partial_success().rejected_log_records(), 0);

  // JSON: lowerCamelCase names, int64 as a decimal string.
  const json jt = json::parse(encode_otlp_response(OtlpSignal::kTraces, 2, "span without spanId", false));
  EXPECT_EQ(jt, json::parse(R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"span without spanId"}})"));
  const json jm = json::parse(encode_otlp_response(OtlpSignal::kMetrics, 5, "x", false));
  EXPECT_EQ(jm["partialSuccess"]["rejectedDataPoints"], "5");
  const json jl = json::parse(encode_otlp_response(OtlpSignal::kLogs, 1, "x", false));
  EXPECT_EQ(jl["partialSuccess"]["rejectedLogRecords"], "1");
  EXPECT_EQ(encode_otlp_response(OtlpSignal::kMetrics, 0, "", false), "{}");
  EXPECT_STREQ(otlp_signal_name(OtlpSignal::kMetrics), "metrics");
}

}  // namespace
}  // namespace rslicer
