// aiops22 reader: schema classification by header, entity rules, per-file
// timestamp units, bad input (counted with file:line, strict throws), NaN,
// gzip, the original folder layout and error messages.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "ingest/formats.h"
#include "ingest/source_util.h"
#include "test_util.h"

namespace rslicer {
namespace {

using testing::make_temp_dir;
using testing::write_file;
using testing::write_gzip_file;

constexpr TimeUs kT0 = 1647705600LL * kUsPerSecond;  // 2022-03-20T16:00:00Z

using testing::drain;
using testing::only;

bool has_example(const ParseStats& s, const std::string& needle) {
  for (const auto& e : s.examples)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}

// A small dataset in the flat layout: every schema once, plain CSV.
std::string write_flat_dataset() {
  const std::string dir = make_temp_dir("aiops22_flat");
  write_file(dir + "/m.csv",
             "timestamp,cmdb_id,kpi_name,value\n"
             "1647705600,adservice-0,container_cpu_usage_seconds,0.5\n"
             "1647705600,node-1,system.cpu.pct_usage,12.5\n"
             "1647705660,frontend,istio_requests,3\n"
             "1647705660,adservice-0,container_cpu_usage_seconds,0.75\n");
  write_file(dir + "/svc.csv",
             "service,timestamp,rr,sr,mrt,count\n"
             "adservice-grpc,1647705600,100.0,99.5,2.5,61\n");
  write_file(dir + "/t.csv",
             "timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n"
             "1647705600361,frontend-0,a1,t1,49877,rpc,0,hipstershop.CheckoutService/PlaceOrder,\n"
             "1647705600416,checkoutservice-1,b2,t1,7614,rpc,13,hipstershop.ProductCatalogService/GetProduct,a1\n"
             "1647705600500,frontend-0,c3,t1,120,http,503,GET /cart,a1\n"
             "1647705600600,frontend-0,d4,t1,120,http,404,GET /x,a1\n"
             "1647705600700,frontend-0,e5,t1,120,http,Ok,GET /y,a1\n");
  write_file(dir + "/l.csv",
             "log_id,timestamp,cmdb_id,log_name,value\n"
             "Fovp,1647705660,currencyservice-1,log_currencyservice-service_application,"
             "\"severity: info, message: conversion request successful\"\n"
             "GIvp,1647705661,frontend-0,log_frontend-service_application,"
             "\"{\"\"message\"\":\"\"request started\"\",\"\"severity\"\":\"\"debug\"\"}\"\n"
             "HYvp,1647705662,adservice-0,log_adservice-service_application,"
             "2022-03-20 16:01:02.123 ERROR [grpc] AdService failed\n");
  write_file(dir + "/groundtruth-k8s-1-2022-03-20.csv",
             "timestamp,level,cmdb_id,failure_type\n"
             "1647706000,node,node-1,node CPU load\n"
             "1647705900,pod,adservice-0,k8s container cpu load\n");
  return dir;
}

TEST(Aiops22Reader, ReadsEverySchemaOfAFlatFolder) {
  const std::string dir = write_flat_dataset();
  EXPECT_EQ(probe_aiops22(dir), 2);
  auto src = open_aiops22(dir, {});
  ASSERT_EQ(src->format(), "aiops22");
  const auto records = drain(*src);
  const Catalog& c = src->catalog();

  const auto metrics = only<MetricPoint>(records);
  ASSERT_EQ(metrics.size(), 4u + 4u);  // 4 tall rows + rr/sr/mrt/count
  EXPECT_EQ(src->counts().metric_rows, 5);
  EXPECT_EQ(src->counts().metric_points, 8);
  // Entities: pod with its service, node, service.
  const Id pod = c.entities.find("adservice-0");
  ASSERT_NE(pod, kNoId);
  EXPECT_EQ(c.entity_info[pod].kind, EntityKind::kPod);
  EXPECT_EQ(c.entities.name(c.service_of(pod)), "adservice");
  EXPECT_EQ(c.entity_info[c.entities.find("node-1")].kind, EntityKind::kNode);
  EXPECT_EQ(c.entity_info[c.entities.find("frontend")].kind, EntityKind::kService);
  bool saw_rr = false;
  for (const auto& m : metrics) {
    if (c.kpis.name(m.kpi) == "rr.grpc") {
      saw_rr = true;
      EXPECT_EQ(c.entities.name(m.entity), "adservice");
      EXPECT_DOUBLE_EQ(m.value, 100.0);
      EXPECT_EQ(m.time, kT0);
    }
    if (c.kpis.name(m.kpi) == "container_cpu_usage_seconds" && m.time == kT0 + 60 * kUsPerSecond) {
      EXPECT_DOUBLE_EQ(m.value, 0.75);
    }
  }
  EXPECT_TRUE(saw_rr);

  // Spans: ms timestamps, microsecond durations, root parent empty, error rule.
  const auto spans = only<Span>(records);
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(src->counts().spans, 5);
  std::map<std::string, Span> by_id;
  for (const auto& s : spans) by_id[s.span_id] = s;
  EXPECT_EQ(by_id["a1"].start, kT0 + 361000);
  EXPECT_EQ(by_id["a1"].duration_us, 49877);
  EXPECT_TRUE(by_id["a1"].parent_id.empty());
  EXPECT_EQ(by_id["b2"].parent_id, "a1");
  EXPECT_EQ(c.operations.name(by_id["a1"].operation), "hipstershop.CheckoutService/PlaceOrder");
  EXPECT_FALSE(by_id["a1"].error);
  EXPECT_TRUE(by_id["b2"].error);  // gRPC INTERNAL
  EXPECT_EQ(by_id["b2"].status_code, 13);
  EXPECT_TRUE(by_id["c3"].error);   // HTTP 503
  EXPECT_FALSE(by_id["d4"].error);  // HTTP 404 is a client error
  EXPECT_FALSE(by_id["e5"].error);  // "Ok"
  EXPECT_EQ(by_id["e5"].status_code, 0);

  // Logs: level from "severity:", JSON and a level token.
  const auto logs = only<LogRecord>(records);
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_EQ(logs[0].level, LogLevel::kInfo);
  EXPECT_EQ(logs[0].message, "conversion request successful");
  EXPECT_EQ(logs[0].time, kT0 + 60 * kUsPerSecond);
  EXPECT_EQ(logs[1].level, LogLevel::kDebug);
  EXPECT_EQ(logs[1].message, "request started");
  EXPECT_EQ(logs[2].level, LogLevel::kError);
  EXPECT_EQ(logs[2].message, "2022-03-20 16:01:02.123 ERROR [grpc] AdService failed");
  EXPECT_EQ(src->counts().log_records, 3);

  // Stream order is by time.
  for (size_t i = 1; i < records.size(); ++i) EXPECT_LE(record_time(records[i - 1]), record_time(records[i]));

  // Faults sorted by start, default duration 300 s.
  const auto faults = src->faults();
  ASSERT_EQ(faults.size(), 2u);
  EXPECT_EQ(faults[0].root_cause, "adservice-0");
  EXPECT_EQ(faults[0].level, "pod");
  EXPECT_EQ(faults[0].fault_type, "k8s container cpu load");
  EXPECT_EQ(faults[0].start, 1647705900LL * kUsPerSecond);
  EXPECT_EQ(faults[0].end, faults[0].start + 300 * kUsPerSecond);
  EXPECT_EQ(faults[1].level, "node");
  EXPECT_NE(faults[1].source.find("groundtruth-k8s-1-2022-03-20.csv:2"), std::string::npos);
  EXPECT_EQ(src->stats().rejected, 0);
  EXPECT_EQ(src->stats().files_read, 5);
  EXPECT_GT(src->stats().bytes_read, 0);

  ReadOptions opt;
  opt.fault_duration_s = 60;
  auto src2 = open_aiops22(dir, opt);
  EXPECT_EQ(src2->faults()[0].end - src2->faults()[0].start, 60 * kUsPerSecond);
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, DetectsTheTimestampUnitPerFile) {
  const std::string dir = make_temp_dir("aiops22_units");
  write_file(dir + "/s.csv", "timestamp,cmdb_id,kpi_name,value\n1647705600,node-1,a,1\n1647705601,node-1,a,2\n");
  write_file(dir + "/ms.csv", "timestamp,cmdb_id,kpi_name,value\n1647705600000,node-1,b,1\n1647705601500,node-1,b,2\n");
  write_file(dir + "/us.csv",
             "timestamp,cmdb_id,kpi_name,value\n1647705600000000,node-1,c,1\n1647705601000007,node-1,c,2\n"
             "1647705602,node-1,c,3\n");  // seconds inside a microsecond file: rejected
  auto src = open_aiops22(dir, {});
  const auto metrics = only<MetricPoint>(drain(*src));
  ASSERT_EQ(metrics.size(), 6u);
  std::map<std::string, std::vector<TimeUs>> times;
  for (const auto& m : metrics) times[src->catalog().kpis.name(m.kpi)].push_back(m.time);
  EXPECT_EQ(times["a"], (std::vector<TimeUs>{kT0, kT0 + kUsPerSecond}));
  EXPECT_EQ(times["b"], (std::vector<TimeUs>{kT0, kT0 + 1500000}));
  EXPECT_EQ(times["c"], (std::vector<TimeUs>{kT0, kT0 + kUsPerSecond + 7}));
  EXPECT_EQ(src->stats().rejected, 1);
  EXPECT_EQ(src->stats().by_reason.at("time_unit"), 1);
  EXPECT_TRUE(has_example(src->stats(), "us.csv:4: timestamp '1647705602' looks like seconds"));
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, CountsMalformedLinesWithFileAndLine) {
  const std::string dir = make_temp_dir("aiops22_bad");
  write_file(dir + "/m.csv",
             "timestamp,cmdb_id,kpi_name,value\n"
             "1647705600,node-1,a,1\n"
             "1647705600,node-1,a\n"            // line 3: 3 fields
             "1647705600,node-1,a,abc\n"        // line 4: not a number
             "yesterday,node-1,a,1\n"           // line 5: bad time
             "1647705600,,a,1\n"                // line 6: empty cmdb_id
             "\n"                               // blank: ignored
             "1647705660,node-1,a,2\n");
  write_file(dir + "/t.csv",
             "timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n"
             "1647705600361,frontend-0,a1,t1,-5,rpc,0,op,\n"  // line 2: negative duration
             "1647705600362,frontend-0,,t1,5,rpc,0,op,\n");   // line 3: no span id
  auto src = open_aiops22(dir, {});
  const auto records = drain(*src);
  EXPECT_EQ(records.size(), 2u);
  const ParseStats& s = src->stats();
  EXPECT_EQ(s.rejected, 6);
  EXPECT_EQ(s.by_reason.at("field_count"), 1);
  EXPECT_EQ(s.by_reason.at("bad_number"), 1);
  EXPECT_EQ(s.by_reason.at("bad_time"), 1);
  EXPECT_EQ(s.by_reason.at("missing_field"), 2);
  EXPECT_EQ(s.by_reason.at("bad_duration"), 1);
  EXPECT_TRUE(has_example(s, "m.csv:3: expected 4 fields as in the header, got 3"));
  EXPECT_TRUE(has_example(s, "m.csv:4: value 'abc' is not a number"));
  EXPECT_TRUE(has_example(s, "t.csv:2: duration '-5'"));
  EXPECT_EQ(src->counts().metric_rows, 2);

  ReadOptions strict;
  strict.strict = true;
  auto strict_src = open_aiops22(dir, strict);
  EXPECT_THROW(drain(*strict_src), InvalidInput);
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, CountsNonFiniteValuesAndSkipsThem) {
  const std::string dir = make_temp_dir("aiops22_nan");
  write_file(dir + "/m.csv",
             "timestamp,cmdb_id,kpi_name,value\n"
             "1647705600,node-1,a,NaN\n1647705600,node-1,b,inf\n1647705600,node-1,c,-Infinity\n"
             "1647705600,node-1,d,\n1647705600,node-1,e,4.5\n");
  auto src = open_aiops22(dir, {});
  const auto metrics = only<MetricPoint>(drain(*src));
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(metrics[0].value, 4.5);
  EXPECT_EQ(src->counts().metric_non_finite, 4);
  EXPECT_EQ(src->counts().metric_rows, 5);
  EXPECT_EQ(src->counts().metric_points, 1);
  EXPECT_EQ(src->stats().rejected, 0);
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, PassesMissingParentsAndDuplicateSpansThrough) {
  const std::string dir = make_temp_dir("aiops22_spans");
  write_file(dir + "/t.csv",
             "timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n"
             "1647705600000,frontend-0,s1,t1,10,rpc,0,op,missing-parent\n"
             "1647705600001,frontend-0,s1,t1,10,rpc,0,op,missing-parent\n"
             "1647705600002,frontend-0,s2,t1,10,rpc,0,op,root\n");
  auto src = open_aiops22(dir, {});
  const auto spans = only<Span>(drain(*src));
  ASSERT_EQ(spans.size(), 3u);  // the slicer decides about duplicates and orphans
  EXPECT_EQ(spans[0].parent_id, "missing-parent");
  EXPECT_EQ(spans[1].span_id, "s1");
  EXPECT_TRUE(spans[2].parent_id.empty());
  EXPECT_EQ(src->stats().rejected, 0);
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, ReadsTheOriginalLayoutPlainAndGzip) {
  const std::string root = make_temp_dir("aiops22_layout");
  const std::string bed = root + "/tar/2022-03-20-cloudbed1";
  write_gzip_file(bed + "/metric/container/kpi_container_cpu_usage_seconds.csv",
                  "timestamp,cmdb_id,kpi_name,value\n"
                  "1647705600,node-6.adservice2-0,container_cpu_usage_seconds,1.5\n"
                  "1647705660,node-6.adservice2-0,container_cpu_usage_seconds,1.25\n");
  write_file(bed + "/metric/node/kpi_cloudbed1_metric_0320.csv",
             "timestamp,cmdb_id,kpi_name,value\n1647705600,node-6,system.cpu.pct_usage,30\n");
  write_file(bed + "/metric/istio/kpi_istio_requests.csv",
             "timestamp,cmdb_id,kpi_name,value\n"
             "1647705600,node-2.frontend-0.source.frontend.destination.adservice,istio_requests.grpc.200.0.0,7\n");
  write_gzip_file(bed + "/metric/service/metric_service.csv.gz",
                  "service,timestamp,rr,sr,mrt,count\nfrontend-http,1647705600,100,100,5,12\n");
  write_gzip_file(bed + "/trace/all/trace_jaeger-span.csv.gz",
                  "timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n"
                  "1647705600361,frontend-0,a1,t1,49877,rpc,0,op,\n");
  write_file(bed + "/log/all/log_filebeat-testbed-log-service.csv",
             "log_id,timestamp,cmdb_id,log_name,value\n"
             "x,1647705600,adservice2-0,log_adservice-service_application,\"severity: warning, message: slow\"\n");
  write_file(root + "/groundtruth/groundtruth-k8s-1-2022-03-20.csv",
             "timestamp,level,cmdb_id,failure_type\n1647705700,service,adservice,k8s container network delay\n");
  write_file(root + "/README.txt", "not data");
  write_file(root + "/other.csv", "a,b\n1,2\n");  // unrelated CSV: skipped with a note

  EXPECT_EQ(probe_aiops22(root), 2);
  auto src = open_aiops22(root, {});
  const auto records = drain(*src);
  const Catalog& c = src->catalog();
  EXPECT_EQ(only<MetricPoint>(records).size(), 2u + 1u + 1u + 4u);
  EXPECT_EQ(only<Span>(records).size(), 1u);
  ASSERT_EQ(only<LogRecord>(records).size(), 1u);
  EXPECT_EQ(only<LogRecord>(records)[0].level, LogLevel::kWarn);
  // Container ids "<node>.<pod>": the pod, linked to its node and service.
  const Id pod = c.entities.find("adservice2-0");
  ASSERT_NE(pod, kNoId);
  EXPECT_EQ(c.entity_info[pod].kind, EntityKind::kPod);
  ASSERT_NE(c.entity_info[pod].node, kNoId);
  EXPECT_EQ(c.entities.name(c.entity_info[pod].node), "node-6");
  EXPECT_EQ(c.entities.find("node-6.adservice2-0"), kNoId);
  // Istio ids keep the peer part in the KPI name.
  EXPECT_NE(c.kpis.find("istio_requests.grpc.200.0.0@source.frontend.destination.adservice"), kNoId);
  EXPECT_EQ(c.entities.name(c.entity_info[c.entities.find("frontend-0")].node), "node-2");
  EXPECT_NE(c.kpis.find("mrt.http"), kNoId);
  EXPECT_EQ(c.entity_info[c.entities.find("frontend")].kind, EntityKind::kService);
  ASSERT_EQ(src->faults().size(), 1u);
  EXPECT_EQ(src->faults()[0].level, "service");
  EXPECT_FALSE(src->stats().notes.empty());
  std::filesystem::remove_all(root);
}

TEST(Aiops22Reader, SortsFilesWhoseRowsAreGroupedBySeries) {
  // The challenge's container metrics list one series for the whole day,
  // then the next: time restarts with every series. Streamed in file order,
  // every series after the first would be hours late for the slicer.
  const std::string dir = make_temp_dir("aiops22_grouped");
  std::string grouped = "timestamp,cmdb_id,kpi_name,value\n";
  for (const char* pod : {"node-1.adservice-0", "node-1.cartservice-0", "node-2.emailservice-0"})
    for (int minute = 0; minute < 180; ++minute)
      grouped += std::to_string(1647705600 + 60 * minute) + "," + pod + ",container_cpu_usage_seconds," +
                 std::to_string(minute) + "\n";
  write_file(dir + "/kpi_container_cpu_usage_seconds.csv", grouped);
  std::string ordered = "timestamp,cmdb_id,kpi_name,value\n";
  for (int minute = 0; minute < 180; ++minute)
    ordered += std::to_string(1647705600 + 60 * minute + 30) + ",node-1,system.cpu.pct_usage,1\n";
  write_file(dir + "/kpi_node.csv", ordered);
  auto src = open_aiops22(dir, {});
  const auto metrics = only<MetricPoint>(drain(*src));
  ASSERT_EQ(metrics.size(), 3u * 180u + 180u);
  for (size_t i = 1; i < metrics.size(); ++i) ASSERT_LE(metrics[i - 1].time, metrics[i].time) << i;
  bool noted = false;
  for (const auto& n : src->stats().notes)
    noted = noted || (n.find("kpi_container_cpu_usage_seconds.csv: rows not in time order") != std::string::npos &&
                      n.find("sorted in memory") != std::string::npos);
  EXPECT_TRUE(noted);
  for (const auto& n : src->stats().notes) EXPECT_EQ(n.find("kpi_node.csv: rows not"), std::string::npos) << n;
}

TEST(Aiops22Reader, NotesAbsentModalitiesAndCountsUnreadableFiles) {
  const std::string dir = make_temp_dir("aiops22_absent");
  write_file(dir + "/m.csv", "timestamp,cmdb_id,kpi_name,value\n1647705600,node-1,a,1\n");
  // A file that starts like gzip but is corrupt.
  std::string corrupt = "\x1f\x8b\x08";
  corrupt.push_back('\0');
  corrupt += "garbage, not deflate data";
  write_file(dir + "/t.csv.gz", corrupt);
  auto src = open_aiops22(dir, {});
  EXPECT_EQ(only<MetricPoint>(drain(*src)).size(), 1u);
  EXPECT_GE(src->stats().files_missing, 3);  // traces, logs, ground truth
  EXPECT_EQ(src->stats().by_reason.count("unreadable_file"), 1u);
  EXPECT_TRUE(src->faults().empty());

  ReadOptions no_metrics;
  no_metrics.read_metrics = false;
  auto src2 = open_aiops22(dir, no_metrics);
  EXPECT_TRUE(drain(*src2).empty());
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, EmptyFolderAndUnknownSchemaAreInvalidInput) {
  const std::string empty = make_temp_dir("aiops22_empty");
  try {
    open_aiops22(empty, {});
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(empty), std::string::npos);
    EXPECT_NE(msg.find("timestamp,cmdb_id,kpi_name,value"), std::string::npos);
  }
  EXPECT_EQ(probe_aiops22(empty), 0);

  const std::string unknown = make_temp_dir("aiops22_unknown");
  write_file(unknown + "/x.csv", "Time,TimeStamp,PodName,CpuUsage(m)\n2023-01-29 08:41:09,1674981669,p,1\n");
  EXPECT_EQ(probe_aiops22(unknown), 0);
  try {
    open_aiops22(unknown, {});
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("1 with another header"), std::string::npos);
  }
  EXPECT_THROW(open_aiops22(unknown + "/absent", {}), InvalidInput);
  std::filesystem::remove_all(empty);
  std::filesystem::remove_all(unknown);
}

TEST(Aiops22Reader, MergesManyFilesInTimeOrder) {
  // 30 files of one hour each, written in reverse name order of time, plus
  // one file covering the whole range: the merged stream is sorted.
  const std::string dir = make_temp_dir("aiops22_many");
  std::string all = "timestamp,cmdb_id,kpi_name,value\n";
  for (int f = 0; f < 30; ++f) {
    std::string text = "timestamp,cmdb_id,kpi_name,value\n";
    for (int m = 0; m < 60; m += 10) {
      const long long t = 1647705600LL + (29 - f) * 3600 + m * 60;
      text += std::to_string(t) + ",node-1,k,1\n";
    }
    write_file(dir + "/f" + std::to_string(100 + f) + ".csv", text);
  }
  for (int h = 0; h < 30; ++h) all += std::to_string(1647705600LL + h * 3600 + 30) + ",node-2,k,2\n";
  write_file(dir + "/all.csv", all);
  auto src = open_aiops22(dir, {});
  const auto records = drain(*src);
  ASSERT_EQ(records.size(), 30u * 6u + 30u);
  for (size_t i = 1; i < records.size(); ++i) ASSERT_LE(record_time(records[i - 1]), record_time(records[i]));
  EXPECT_EQ(src->stats().files_read, 31);
  std::filesystem::remove_all(dir);
}

TEST(Aiops22Reader, ReadsTheMicroServoStyle) {
  // MicroServo writes the challenge schema with its own twists: "<node>.<pod>" metric ids whose node is not
  // named node-N, logs as log_id,timestamp,date,cmdb_id,message with "level:x,message:y" values, and root
  // spans whose parent_span is their own span_id.
  const std::string dir = make_temp_dir("microservo");
  write_file(dir + "/metric/container.csv",
             "timestamp,cmdb_id,kpi_name,value\n"
             "1715124412,observe.cartservice-0,container_memory_cache,30363648\n"
             "1715124412,observe.cartservice-1,container_memory_cache,20000000\n");
  write_file(dir + "/trace/trace.csv",
             "timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n"
             "1715124412122210,frontend-0,6ced3c24a24da73e,6ced3c24a24da73ead6eb3325d860ea4,11199,request,0,"
             "/hipstershop.FrontendService/ProductGrpc,6ced3c24a24da73e\n"
             "1715124412122300,cartservice-0,77aa,6ced3c24a24da73ead6eb3325d860ea4,10,rpc,0,GetCart,6ced3c24a24da73e\n");
  write_file(dir + "/log/log.csv",
             "log_id,timestamp,date,cmdb_id,message\n"
             "v-UeFo8BSpQAhE0cMNiy,1715124413,2024-05-07T23:26:53.237Z,shippingservice-0,"
             "\"level:debug,message:gathering metrics\"\n"
             "w-UeFo8BSpQAhE0cMNiz,1715124414,2024-05-07T23:26:54.001Z,cartservice-0,"
             "\"level:error,message:redis timeout, retrying\"\n");
  auto src = open_aiops22(dir, {});
  const auto records = drain(*src);
  const Catalog& c = src->catalog();
  EXPECT_EQ(src->stats().rejected, 0);

  const auto metrics = only<MetricPoint>(records);
  ASSERT_EQ(metrics.size(), 2u);
  for (const auto& m : metrics) {
    EXPECT_EQ(c.entity_info[m.entity].kind, EntityKind::kPod) << c.entities.name(m.entity);
    EXPECT_EQ(c.entities.name(c.entity_info[m.entity].node), "observe");
    EXPECT_EQ(c.kpis.name(m.kpi), "container_memory_cache");  // no "@cartservice-0" suffix
  }
  EXPECT_EQ(c.entities.name(metrics[0].entity), "cartservice-0");
  EXPECT_EQ(c.entities.name(metrics[1].entity), "cartservice-1");

  const auto spans = only<Span>(records);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_TRUE(spans[0].parent_id.empty());  // its own span id as parent: a root
  EXPECT_EQ(spans[1].parent_id, "6ced3c24a24da73e");

  const auto logs = only<LogRecord>(records);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0].level, LogLevel::kDebug);
  EXPECT_EQ(logs[0].message, "gathering metrics");
  EXPECT_EQ(logs[1].level, LogLevel::kError);
  EXPECT_EQ(logs[1].message, "redis timeout, retrying");
  EXPECT_EQ(c.entities.name(logs[1].entity), "cartservice-0");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
