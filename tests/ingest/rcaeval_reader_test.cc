// rcaeval and widecsv readers: the RCAEval RE1 and RE2 folder layouts, labels
// from folder names and inject_time.txt, the <entity>_<kpi> column rule and
// mapping files, bad rows counted with file:line, and probes that do not
// claim the other formats' folders.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/errors.h"
#include "ingest/formats.h"
#include "ingest/source_util.h"
#include "test_util.h"

namespace rslicer {
namespace {

using testing::make_temp_dir;
using testing::write_file;

constexpr std::int64_t kT0 = 1700000000;  // 2023-11-14T22:13:20Z, epoch seconds

using testing::drain;
using testing::only;

bool has_text(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& e : v)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}

std::string n(std::int64_t v) { return std::to_string(v); }

// RE1: two cases, two runs each, data.csv + inject_time.txt.
std::string write_re1(const std::string& dir, std::int64_t start = kT0) {
  std::int64_t t = start;
  for (const char* c : {"adservice_cpu", "cartservice_mem"}) {
    for (int run = 1; run <= 2; ++run) {
      const std::string rd = dir + "/online-boutique/" + c + "/" + n(run);
      std::string csv = "time,adservice_cpu,cartservice_mem,frontend_latency-50\n";
      for (int i = 0; i < 4; ++i) csv += n(t + i) + "," + n(i) + ".5," + n(10 + i) + ",0.25\n";
      write_file(rd + "/data.csv", csv);
      write_file(rd + "/inject_time.txt", n(t + 2) + "\n");
      t += 100;
    }
  }
  return dir;
}

TEST(RcaevalReader, Re1CasesAndRunsMergedWithFolderLabels) {
  const std::string dir = write_re1(make_temp_dir("rcaeval_re1"));
  EXPECT_EQ(detect_format(dir), "rcaeval");
  auto src = open_source(dir, "auto", ReadOptions{});
  EXPECT_EQ(src->format(), "rcaeval");
  const auto faults = src->faults();
  ASSERT_EQ(faults.size(), 4u);
  EXPECT_EQ(faults[0].root_cause, "adservice");
  EXPECT_EQ(faults[0].fault_type, "cpu");
  EXPECT_EQ(faults[0].level, "service");
  EXPECT_EQ(faults[0].start, (kT0 + 2) * kUsPerSecond);
  EXPECT_EQ(faults[0].end - faults[0].start, static_cast<TimeUs>(kRcaevalDefaultFaultDurationS * kUsPerSecond));
  EXPECT_EQ(faults[2].root_cause, "cartservice");
  EXPECT_EQ(faults[2].fault_type, "mem");
  EXPECT_NE(faults[3].source.find("inject_time.txt:1"), std::string::npos);

  const auto recs = drain(*src);
  const auto points = only<MetricPoint>(recs);
  EXPECT_EQ(points.size(), 4u * 4 * 3);
  EXPECT_TRUE(std::is_sorted(points.begin(), points.end(),
                             [](const MetricPoint& a, const MetricPoint& b) { return a.time < b.time; }));
  const Catalog& cat = src->catalog();
  const Id fe = cat.entities.find("frontend");
  ASSERT_NE(fe, kNoId);
  EXPECT_EQ(cat.entity_info[fe].kind, EntityKind::kService);
  EXPECT_NE(cat.kpis.find("latency-50"), kNoId);
  EXPECT_EQ(src->counts().metric_rows, 16);
  EXPECT_EQ(src->stats().rejected, 0);
  // RE1 has no logs or traces: said, not silent.
  EXPECT_TRUE(has_text(src->stats().notes, "no logs.csv"));
  EXPECT_TRUE(has_text(src->stats().notes, "no traces.csv"));

  // --fault-duration overrides the default; a case folder alone is read too.
  ReadOptions o;
  o.fault_duration_s = 60;
  auto one = open_source(dir + "/online-boutique/cartservice_mem", "rcaeval", o);
  const auto f2 = one->faults();
  ASSERT_EQ(f2.size(), 2u);
  EXPECT_EQ(f2[0].end - f2[0].start, 60 * kUsPerSecond);
}

TEST(RcaevalReader, OverlappingRunsAreNoted) {
  const std::string dir = make_temp_dir("rcaeval_overlap");
  for (const char* c : {"a_cpu/1", "b_mem/1"}) {
    write_file(dir + "/" + c + "/data.csv", "time,a_cpu\n" + n(kT0) + ",1\n" + n(kT0 + 10) + ",2\n");
    write_file(dir + "/" + c + "/inject_time.txt", n(kT0 + 5));
  }
  auto src = open_source(dir, "rcaeval", ReadOptions{});
  EXPECT_EQ(only<MetricPoint>(drain(*src)).size(), 4u);
  EXPECT_TRUE(has_text(src->stats().notes, "overlap in time")) << ::testing::PrintToString(src->stats().notes);
}

std::string write_re2(const std::string& dir) {
  const std::string rd = dir + "/RE2-TT/ts-auth-service_delay/1";
  write_file(rd + "/metrics.csv",
             "time,ts-auth-service_container-cpu,ts-auth-service-7f8d7d756d-k7b9j_container-memory,"
             "10.0.0.5_node-cpu\n" +
                 n(kT0) + ",0.5,100,12\n" + n(kT0 + 1) + ",0.75,,13\n");
  write_file(rd + "/simple_metrics.csv", "time,ts-auth-service_cpu\n" + n(kT0) + ",1\n");
  write_file(rd + "/logs.csv",
             "time,timestamp,container_name,message,level,req_path,error\n" + n(kT0) + "," + n(kT0) +
                 "123456789,ts-auth-service,\"login ok, user 7\",INFO,/api/v1/users/login,\n" + n(kT0 + 1) + "," +
                 n(kT0 + 1) + "000000000,ts-auth-service,token check failed,ERROR,/api/v1/auth,true\n");
  write_file(rd + "/traces.csv",
             "time,traceID,spanID,serviceName,methodName,operationName,startTimeMillis,startTime,duration,"
             "statusCode,parentSpanID\n" +
                 n(kT0) + ",t1,s1,ts-ui-dashboard,POST,/api/v1/users/login," + n(kT0) + "000," + n(kT0) +
                 "000100,5000,200,\n" + n(kT0) + ",t1,s2,ts-auth-service,POST,login," + n(kT0) + "000," + n(kT0) +
                 "000200,4000,503,s1\n");
  write_file(rd + "/inject_time.txt", n(kT0 + 1));
  return dir;
}

TEST(RcaevalReader, Re2MetricsLogsTraces) {
  const std::string dir = write_re2(make_temp_dir("rcaeval_re2"));
  EXPECT_EQ(detect_format(dir), "rcaeval");
  auto src = open_source(dir, "", ReadOptions{});
  const auto faults = src->faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].root_cause, "ts-auth-service");
  EXPECT_EQ(faults[0].fault_type, "delay");
  const auto recs = drain(*src);
  const auto points = only<MetricPoint>(recs);
  EXPECT_EQ(points.size(), 5u);  // one empty cell; simple_metrics.csv skipped
  EXPECT_EQ(src->counts().metric_non_finite, 1);
  EXPECT_TRUE(has_text(src->stats().notes, "simple_metrics.csv: skipped"));
  const Catalog& cat = src->catalog();
  const Id pod = cat.entities.find("ts-auth-service-7f8d7d756d-k7b9j");
  ASSERT_NE(pod, kNoId);
  EXPECT_EQ(cat.entity_info[pod].kind, EntityKind::kPod);
  EXPECT_EQ(cat.entities.name(cat.service_of(pod)), "ts-auth-service");
  const Id node = cat.entities.find("10.0.0.5");
  ASSERT_NE(node, kNoId);
  EXPECT_EQ(cat.entity_info[node].kind, EntityKind::kNode);

  const auto logs = only<LogRecord>(recs);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0].time, kT0 * kUsPerSecond + 123456);  // nanoseconds, truncated to microseconds
  EXPECT_EQ(logs[0].message, "login ok, user 7");
  EXPECT_EQ(logs[0].level, LogLevel::kInfo);
  EXPECT_EQ(logs[1].level, LogLevel::kError);

  const auto spans = only<Span>(recs);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].start, kT0 * kUsPerSecond + 100);
  EXPECT_EQ(spans[0].duration_us, 5000);
  EXPECT_TRUE(spans[0].parent_id.empty());
  EXPECT_EQ(cat.operations.name(spans[0].operation), "/api/v1/users/login");
  EXPECT_EQ(spans[1].parent_id, "s1");
  EXPECT_EQ(spans[1].status_code, 503);
  EXPECT_TRUE(spans[1].error);
  EXPECT_FALSE(spans[0].error);
  EXPECT_EQ(src->stats().rejected, 0) << ::testing::PrintToString(src->stats().examples);
}

TEST(RcaevalReader, BadRowsAreCountedWithFileAndLine) {
  const std::string dir = make_temp_dir("rcaeval_bad");
  const std::string rd = dir + "/adservice_loss/1";
  write_file(rd + "/data.csv", "time,adservice_cpu,adservice_mem\n" + n(kT0) + ",1,2\n" +
                                   n(kT0 + 1) + ",1\n"            // wrong field count: line 3
                                   "yesterday,1,2\n" +            // bad time: line 4
                                   n(kT0 + 3) + ",NaN,abc\n" +    // NaN counted, abc rejected: line 5
                                   n(kT0 + 4) + "000,1,2\n");     // milliseconds after seconds: line 6
  write_file(rd + "/traces.csv", "traceID,spanID,serviceName,startTime,duration\nt1,s1,adservice," + n(kT0) +
                                     "000000,-5\n");  // bad duration: line 2
  write_file(rd + "/inject_time.txt", "soon\n");
  auto src = open_source(dir, "rcaeval", ReadOptions{});
  EXPECT_TRUE(src->faults().empty());
  const auto recs = drain(*src);
  EXPECT_EQ(only<MetricPoint>(recs).size(), 2u);
  const ParseStats& s = src->stats();
  const std::string data = rd + "/data.csv";
  EXPECT_TRUE(has_text(s.examples, data + ":3: expected 3 fields")) << ::testing::PrintToString(s.examples);
  EXPECT_TRUE(has_text(s.examples, data + ":4: time 'yesterday'"));
  EXPECT_TRUE(has_text(s.examples, data + ":5: column 'adservice_mem': 'abc'"));
  EXPECT_TRUE(has_text(s.examples, data + ":6: time '1700000004000' looks like milliseconds"));
  EXPECT_TRUE(has_text(s.examples, "traces.csv:2: duration '-5'"));
  EXPECT_TRUE(has_text(s.examples, "inject_time.txt:1: injection time 'soon'"));
  EXPECT_EQ(s.by_reason.at("field_count"), 1);
  EXPECT_EQ(s.by_reason.at("bad_time"), 2);
  EXPECT_EQ(s.by_reason.at("bad_number"), 1);
  EXPECT_EQ(s.by_reason.at("time_unit"), 1);
  EXPECT_EQ(s.by_reason.at("bad_duration"), 1);
  EXPECT_EQ(src->counts().metric_non_finite, 1);
  EXPECT_EQ(s.rejected, 6);

  ReadOptions strict;
  strict.strict = true;
  auto st = open_source(dir, "rcaeval", strict);
  EXPECT_THROW(drain(*st), InvalidInput);
}

TEST(RcaevalReader, FolderWithoutRunsIsAnError) {
  const std::string dir = make_temp_dir("rcaeval_empty");
  write_file(dir + "/x/notes.csv", "a,b\n1,2\n");
  try {
    open_source(dir, "rcaeval", ReadOptions{});
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("no rcaeval data"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos);
  }
}

TEST(WideCsvReader, MappingFileUnmappableColumnAndJsonLabels) {
  const std::string dir = make_temp_dir("widecsv_map");
  write_file(dir + "/kpis.csv",
             "Timestamp,web01 cpu,db_conn,weird,Timestamp\n"
             "2024-01-02 03:04:05,0.5,7,1,x\n"
             "2024-01-02 03:04:15,,8,2,x\n");
  write_file(dir + "/columns.csv", "column,entity,kpi,kind\nweb01 cpu,web01,cpu,node\n");
  write_file(dir + "/faults.json", R"([{"start": "2024-01-02T03:04:10Z", "root_cause": "db", "fault_type": "conn"}])");
  auto src = open_source(dir, "widecsv", ReadOptions{});
  const auto faults = src->faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].root_cause, "db");
  EXPECT_EQ(faults[0].end - faults[0].start, static_cast<TimeUs>(kWidecsvDefaultFaultDurationS * kUsPerSecond));
  const auto points = only<MetricPoint>(drain(*src));
  EXPECT_EQ(points.size(), 3u);
  const Catalog& cat = src->catalog();
  const Id web = cat.entities.find("web01");
  ASSERT_NE(web, kNoId);
  EXPECT_EQ(cat.entity_info[web].kind, EntityKind::kNode);
  EXPECT_NE(cat.entities.find("db"), kNoId);
  EXPECT_NE(cat.kpis.find("conn"), kNoId);
  const ParseStats& s = src->stats();
  EXPECT_EQ(s.by_reason.at("unmapped_column"), 1);
  EXPECT_TRUE(has_text(s.examples, "kpis.csv:1: column 'weird' is neither")) << ::testing::PrintToString(s.examples);
  EXPECT_EQ(probe_widecsv(dir), 0);  // an unmappable column: not claimed, but readable with --format widecsv
  EXPECT_TRUE(has_text(s.notes, "second time column"));
  EXPECT_EQ(src->counts().metric_non_finite, 1);
}

TEST(WideCsvReader, FolderLabelsAndUnorderedRows) {
  const std::string dir = make_temp_dir("widecsv_labels");
  write_file(dir + "/checkout_latency/2/data.csv", "time,checkout_latency,cart_cpu\n" + n(kT0 + 300) + ",1,2\n" +
                                                        n(kT0) + ",3,4\n");
  write_file(dir + "/checkout_latency/2/inject_time.txt", n(kT0 + 150));
  auto src = open_source(dir, "widecsv", ReadOptions{});
  const auto faults = src->faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].root_cause, "checkout");
  EXPECT_EQ(faults[0].fault_type, "latency");
  const auto points = only<MetricPoint>(drain(*src));
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].time, kT0 * kUsPerSecond);  // sorted in memory
  EXPECT_TRUE(has_text(src->stats().notes, "sorted in memory"));
}

TEST(WideCsvReader, NoTimeColumnIsAnError) {
  const std::string dir = make_temp_dir("widecsv_none");
  write_file(dir + "/a.csv", "when,a_b\n1,2\n");
  try {
    open_source(dir, "widecsv", ReadOptions{});
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("no widecsv data"), std::string::npos) << e.what();
  }
}

// The new probes leave the other formats' folders alone, and theirs ours.
TEST(RcaevalProbe, DoesNotMisfire) {
  const std::string tt = make_temp_dir("probe_nezha");
  write_file(tt + "/2023-01-29/metric/ts-auth-service_metric.csv",
             "Time,TimeStamp,PodName,CpuUsageRate(%),MemoryUsageRate(%)\n"
             "2023-01-29 08:00:00 +0000 UTC,1674979200,ts-auth-service-7f8d7d756d-k7b9j,0.5,0.25\n");
  write_file(tt + "/2023-01-29/trace/08_00_trace.csv",
             "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano\n"
             "t1,s1,root,ts-auth-service-7f8d7d756d-k7b9j,login,1674979200000000000,1674979200100000000\n");
  EXPECT_EQ(probe_rcaeval(tt), 0);
  EXPECT_EQ(probe_widecsv(tt), 0);

  const std::string ai = make_temp_dir("probe_aiops22");
  write_file(ai + "/m.csv", "timestamp,cmdb_id,kpi_name,value\n1647705600,adservice-0,cpu,0.5\n");
  EXPECT_EQ(probe_rcaeval(ai), 0);
  EXPECT_EQ(probe_widecsv(ai), 0);
  EXPECT_EQ(detect_format(ai), "aiops22");

  const std::string ot = make_temp_dir("probe_otlp");
  write_file(ot + "/traces.jsonl", R"({"resourceSpans":[]})" "\n");
  write_file(ot + "/faults.json", "[]");
  EXPECT_EQ(probe_rcaeval(ot), 0);
  EXPECT_EQ(probe_widecsv(ot), 0);
  EXPECT_EQ(detect_format(ot), "otlp");

  const std::string re1 = write_re1(make_temp_dir("probe_re1"));
  const std::string re2 = write_re2(make_temp_dir("probe_re2"));
  for (const auto& d : {re1, re2}) {
    EXPECT_EQ(probe_nezha(d), 0) << d;
    EXPECT_EQ(probe_aiops22(d), 0) << d;
    EXPECT_EQ(probe_otlp(d), 0) << d;
    EXPECT_EQ(detect_format(d), "rcaeval") << d;
  }
  const std::string wide = make_temp_dir("probe_wide");
  write_file(wide + "/w.csv", "time,api_p99,api_rps\n" + n(kT0) + ",1,2\n");
  EXPECT_EQ(probe_nezha(wide), 0);
  EXPECT_EQ(probe_aiops22(wide), 0);
  EXPECT_EQ(probe_otlp(wide), 0);
  EXPECT_EQ(probe_rcaeval(wide), 0);
  EXPECT_EQ(detect_format(wide), "widecsv");
}

}  // namespace
}  // namespace rslicer
