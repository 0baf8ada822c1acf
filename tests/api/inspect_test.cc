#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace rslicer {
namespace {

std::string rslicer_bin() { return testing::binary_dir() + "/bin/rslicer"; }

TEST(InspectCli, JsonOnBundledSampleHasTheDocumentedKeys) {
  int rc = 0;
  const std::string out = testing::run_command(rslicer_bin() + " -q inspect --json --data " + testing::source_dir() +
                                                   "/data/trainticket-sample 2>&1",
                                               &rc);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_GT(j["metrics"]["points"].get<long>(), 0);
  EXPECT_GT(j["metrics"]["entities"].get<long>(), 40);
  EXPECT_GT(j["traces"]["spans"].get<long>(), 0);
  EXPECT_GT(j["traces"]["traces"].get<long>(), 0);
  EXPECT_GT(j["logs"]["records"].get<long>(), 0);
  EXPECT_GT(j["logs"]["templates"].get<long>(), 10);
  EXPECT_EQ(j["faults"].get<int>(), 41);
  EXPECT_GT(j["slices"].get<long>(), 100);
  EXPECT_TRUE(j["rejected"]["count"].is_number());
  EXPECT_TRUE(j["rejected"]["examples"].is_array());
  EXPECT_TRUE(j["traces"]["untraced_callees"].empty());  // Nezha's CSV spans name no callee
}

// A simulated system in OTLP: its databases and caches have no spans, and the callers' client spans name them
// (peer.service); inspect lists them with their call counts.
TEST(InspectCli, ListsTheCalleesThatOnlyClientSpansName) {
  const std::string dir = testing::make_temp_dir("inspect_peers") + "/sim";
  int rc = 0;
  const std::string sim = testing::run_command(
      rslicer_bin() + " -q simulate --format otlp --services 6 --hours 0.2 --faults 0 --seed 5 --out " + dir + " 2>&1",
      &rc);
  ASSERT_EQ(rc, 0) << sim;
  const std::string out = testing::run_command(rslicer_bin() + " -q inspect --json --data " + dir + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  const auto callees = nlohmann::json::parse(out)["traces"]["untraced_callees"];
  std::vector<std::string> names;
  for (const auto& c : callees) {
    names.push_back(c["name"].get<std::string>());
    EXPECT_GT(c["client_spans"].get<long>(), 0) << c;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"mysql", "redis"})) << callees;  // the simulator's back ends
  const std::string text = testing::run_command(rslicer_bin() + " -q inspect --data " + dir + " 2>&1", &rc);
  EXPECT_NE(text.find("called without spans of their own (named by client spans): mysql ("), std::string::npos) << text;
}

TEST(InspectCli, DuplicatesDroppedMatchAnIndependentCount) {
  // The duplicate filter must drop exactly the repeated metric points and
  // spans (an earlier hash filter also dropped distinct points on collisions).
  const std::string data = testing::source_dir() + "/data/trainticket-sample";
  int rc = 0;
  const std::string out = testing::run_command(rslicer_bin() + " -q inspect --json --data " + data + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  const auto expected = nlohmann::json::parse(testing::run_command(
      "/usr/bin/python3 " + testing::source_dir() + "/tests/ingest/count_duplicates.py " + data));
  EXPECT_EQ(nlohmann::json::parse(out)["slicing"]["duplicates_dropped"], expected["duplicates"]);
  EXPECT_GT(expected["duplicates"].get<long>(), 0);
}

TEST(InspectCli, ReadThreadsDoNotChangeTheReport) {
  const std::string cmd = rslicer_bin() + " -q inspect --json --data " + testing::source_dir() + "/data/trainticket-sample";
  int rc0 = 0, rc3 = 0, rc_bad = 0;
  const std::string one = testing::run_command(cmd + " --read-threads 0 2>&1", &rc0);
  const std::string three = testing::run_command(cmd + " --read-threads 3 2>&1", &rc3);
  ASSERT_EQ(rc0, 0) << one;
  ASSERT_EQ(rc3, 0) << three;
  EXPECT_EQ(nlohmann::json::parse(one), nlohmann::json::parse(three));
  const std::string bad = testing::run_command(cmd + " --read-threads -5 2>&1", &rc_bad);
  EXPECT_NE(rc_bad, 0);
  EXPECT_NE(bad.find("--read-threads"), std::string::npos) << bad;
}

TEST(InspectCliData, FullTrainTicketReportsExactCountsAndTheMalformedLine) {
  const std::string nezha = testing::trainticket_dir() + "/nezha";
  if (!testing::exists(nezha)) GTEST_SKIP() << "../shared not present";
  int rc = 0;
  const std::string out = testing::run_command(rslicer_bin() + " -q inspect --json --data " + nezha, &rc);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  const auto expected = nlohmann::json::parse(
      testing::run_command("/usr/bin/python3 " + testing::source_dir() + "/tests/ingest/count_nezha.py " + nezha));
  EXPECT_EQ(j["metrics"]["rows"], expected["metric_rows"]);
  EXPECT_EQ(j["traces"]["spans"], expected["spans"]);
  EXPECT_EQ(j["logs"]["records"].get<long>(), expected["log_lines"].get<long>() - 1);
  EXPECT_EQ(j["faults"].get<int>(), 45);
  ASSERT_EQ(j["rejected"]["count"].get<int>(), 1);
  EXPECT_NE(j["rejected"]["examples"][0].get<std::string>().find("10_06_log.csv.gz:631: expected 8 fields, got 10"),
            std::string::npos);
}

// OTLP/JSON request with one span per entry of `starts_s` (Unix seconds), each of service `svc`.
nlohmann::json span_request(const std::vector<long>& starts_s, const std::string& svc = "cart") {
  nlohmann::json spans = nlohmann::json::array();
  for (long t : starts_s) {
    spans.push_back({{"traceId", "5B8EFFF798038103D269B633813FC60C"},  // upper-case hex: OTLP ids are case-insensitive
                     {"spanId", "EEE19B7EC3C1B1" + std::to_string(10 + (t % 89))},
                     {"name", "GET /cart"},
                     {"startTimeUnixNano", std::to_string(t) + "000000000"},
                     {"endTimeUnixNano", std::to_string(t) + "005000000"}});
  }
  return {{"resourceSpans",
           {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", svc}}}}}}}},
             {"scopeSpans", {{{"spans", spans}}}}}}}};
}

nlohmann::json inspect_json(const std::string& data, const std::string& flags = "") {
  int rc = 0;
  const std::string out = testing::run_command(rslicer_bin() + " -q inspect --json --data " + data + " " + flags + " 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  return rc == 0 ? nlohmann::json::parse(out) : nlohmann::json::object();
}

TEST(InspectCli, PublicOtlpLayoutsAreReadWhole) {
  // The layouts public OTLP files come in: every record is read or counted, none silently gone.
  const long t0 = 1674981660;  // 2023-01-29T08:41:00Z
  const std::string dir = testing::make_temp_dir("otlp_layouts");
  // Pretty-printed (every opentelemetry-proto example), and a file without a suffix named explicitly.
  testing::write_file(dir + "/pretty/trace.json", span_request({t0, t0 + 1}).dump(2) + "\n");
  testing::write_file(dir + "/file", span_request({t0, t0 + 1, t0 + 2}).dump(4));
  // An array of requests, and requests one after another, gzip.
  nlohmann::json arr = nlohmann::json::array({span_request({t0}), span_request({t0 + 5, t0 + 6})});
  testing::write_file(dir + "/array/a.json", arr.dump(2));
  testing::write_gzip_file(dir + "/concat/c.json.gz", span_request({t0}).dump(2) + "\n" + span_request({t0 + 7}).dump(2));
  // Lines of a file exporter out of time order: 30 minutes, every other line half an hour back.
  std::string lines;
  for (int i = 0; i < 30; ++i) {
    const long minute = (i % 2 == 0) ? i / 2 : 15 + i / 2;
    lines += span_request({t0 + minute * 60, t0 + minute * 60 + 30}).dump() + "\n";
  }
  testing::write_file(dir + "/unordered/traces.jsonl", lines);
  // A sidecar beside the app container of one pod, and two replicas sharing service.name: same metric, same time.
  auto gauge = [&](const std::vector<std::pair<std::string, std::string>>& attrs, double v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [k, val] : attrs) a.push_back({{"key", k}, {"value", {{"stringValue", val}}}});
    return nlohmann::json{
        {"resource", {{"attributes", a}}},
        {"scopeMetrics",
         {{{"metrics",
            {{{"name", "cpu"},
              {"gauge", {{"dataPoints", {{{"timeUnixNano", std::to_string(t0) + "000000000"}, {"asDouble", v}}}}}}}}}}}}};
  };
  nlohmann::json blocks = nlohmann::json::array(
      {gauge({{"k8s.pod.name", "cart-7d9f8b6c5-x7k2p"}, {"k8s.container.name", "cart"}}, 0.5),
       gauge({{"k8s.pod.name", "cart-7d9f8b6c5-x7k2p"}, {"k8s.container.name", "istio-proxy"}}, 0.1),
       gauge({{"service.name", "checkout"}, {"service.instance.id", "a1"}}, 0.7),
       gauge({{"service.name", "checkout"}, {"service.instance.id", "b2"}}, 0.9)});
  testing::write_file(dir + "/sidecar/metrics.json", nlohmann::json{{"resourceMetrics", blocks}}.dump(2));

  struct Case {
    std::string path;
    long spans;
  };
  for (const Case& c : {Case{dir + "/pretty", 2}, Case{dir + "/file", 3}, Case{dir + "/array", 3},
                        Case{dir + "/concat", 2}, Case{dir + "/unordered", 60}}) {
    const auto j = inspect_json(c.path);
    if (j.empty()) continue;
    EXPECT_EQ(j["format"], "otlp") << c.path;
    EXPECT_EQ(j["traces"]["spans"].get<long>(), c.spans) << c.path;
    EXPECT_EQ(j["rejected"]["count"].get<long>(), 0) << c.path;
    EXPECT_EQ(j["slicing"]["late_records"].get<long>(), 0) << c.path;
    EXPECT_EQ(j["traces"]["traces"].get<long>(), 1) << c.path;  // upper- and lower-case ids are one trace
  }
  const auto sidecar = inspect_json(dir + "/sidecar");
  EXPECT_EQ(sidecar["metrics"]["points"].get<long>(), 4);
  EXPECT_EQ(sidecar["slicing"]["duplicates_dropped"].get<long>(), 0) << sidecar["slicing"].dump();
  EXPECT_EQ(sidecar["slicing"]["conflicting_values"].get<long>(), 0);
  EXPECT_EQ(sidecar["metrics"]["entities"].get<long>(), 3);  // the pod and the two instances
  const auto j = inspect_json(dir + "/unordered");
  bool sorted_note = false;
  for (const auto& n : j["files"]["notes"]) sorted_note |= n.get<std::string>().find("sorted in memory") != std::string::npos;
  EXPECT_TRUE(sorted_note) << j["files"]["notes"].dump();
}

TEST(InspectCli, LateRecordsFollowAllowedLatenessAndFailUnderStrict) {
  // Lines going back 50 s: below the reader's sort threshold (60 s), so the slicer's lateness decides.
  const long t0 = 1674981660;
  const std::string dir = testing::make_temp_dir("otlp_late");
  std::string lines;
  // Each pair: a span 40 s into a minute, then one 50 s earlier, in the minute before (its first window ends 10 s
  // after it).
  for (int i = 0; i < 40; ++i)
    lines += span_request({t0 + i * 120 + 100}).dump() + "\n" + span_request({t0 + i * 120 + 50}).dump() + "\n";
  testing::write_file(dir + "/t.jsonl", lines);
  EXPECT_EQ(inspect_json(dir)["slicing"]["late_records"].get<long>(), 0);  // 120 s by default
  const auto tight = inspect_json(dir, "--allowed-lateness 10");
  EXPECT_GT(tight["slicing"]["late_records"].get<long>(), 0);
  int rc = 0;
  const std::string out =
      testing::run_command(rslicer_bin() + " -q inspect --strict --allowed-lateness 10 --data " + dir + " 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("arrived after their windows closed"), std::string::npos) << out;
  EXPECT_NE(out.find("--allowed-lateness"), std::string::npos) << out;
}

TEST(InspectCli, OnePointFromABadClockDoesNotPoisonTheRun) {
  // 30 one-minute points, one of them six years ahead: it used to make 19 of the others late.
  const long t0 = 1674981660;
  const std::string dir = testing::make_temp_dir("otlp_clock");
  std::string lines;
  for (int i = 0; i < 30; ++i) {
    const long t = i == 10 ? t0 + 6L * 365 * 86400 : t0 + i * 60;
    nlohmann::json req = {
        {"resourceMetrics",
         {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", "cart"}}}}}}}},
           {"scopeMetrics",
            {{{"metrics",
               {{{"name", "cpu"},
                 {"gauge", {{"dataPoints", {{{"timeUnixNano", std::to_string(t) + "000000000"}, {"asDouble", 0.5}}}}}}}}}}}}}}}};
    lines += req.dump() + "\n";
  }
  testing::write_file(dir + "/metrics.jsonl", lines);
  const auto j = inspect_json(dir);
  if (j.empty()) return;
  EXPECT_EQ(j["slicing"]["late_records"].get<long>(), 0);
  EXPECT_EQ(j["slicing"]["clock_outliers"].get<long>(), 1);
  EXPECT_EQ(j["metrics"]["points"].get<long>(), 30);  // read: 29 sliced, 1 counted as an outlier
  EXPECT_EQ(j["time_range"]["last"].get<std::string>().substr(0, 4), "2023");
  int rc = 0;
  const std::string out = testing::run_command(rslicer_bin() + " -q inspect --strict --data " + dir + " 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("clock outlier"), std::string::npos) << out;
}

TEST(InspectCli, LabelsNamingNoEntityAndWithoutATypeAreSaid) {
  const long t0 = 1674981660;
  const std::string dir = testing::make_temp_dir("otlp_labels_cli");
  testing::write_file(dir + "/t.jsonl", span_request({t0, t0 + 60}).dump() + "\n");
  testing::write_file(dir + "/faults.json", R"([{"start": 1674981660, "root_cause": "carts", "fault_type": "cpu"},
                                               {"start": 1674981700, "root_cause": "cart"}])");
  int rc = 0;
  const std::string out = testing::run_command(rslicer_bin() + " inspect --data " + dir + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("(no fault type) 1"), std::string::npos) << out;
  EXPECT_NE(out.find("1 label(s) name a root cause that is no entity of the data (first: 'carts'"), std::string::npos)
      << out;
}

TEST(InspectCli, UsageErrorsExitTwoAndQuietWorksAfterTheCommand) {
  int rc = 0;
  std::string out = testing::run_command(rslicer_bin() + " inspect --bogus 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  out = testing::run_command(rslicer_bin() + " inspect --window abc 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  out = testing::run_command(rslicer_bin() + " inspect --allowed-lateness -1 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  // -q after the command name is the app's flag (it used to be refused as an unknown option of the command)
  const std::string dir = testing::make_temp_dir("quiet");
  testing::write_file(dir + "/t.jsonl", span_request({1674981660, 1674981720}).dump() + "\n");
  const std::string quiet = testing::run_command(rslicer_bin() + " inspect --json -q --data " + dir + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << quiet;
  EXPECT_FALSE(nlohmann::json::parse(quiet, nullptr, false).is_discarded()) << quiet;
  // simulate never writes into a folder that holds something
  out = testing::run_command(rslicer_bin() + " -q simulate --format otlp --hours 0.1 --out " + dir + " 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("exists and is not an empty folder"), std::string::npos) << out;
}

TEST(InspectCli, ErrorsAreClearWithExitCodes) {
  int rc = 0;
  std::string out = testing::run_command(rslicer_bin() + " inspect --data /no/such/place 2>&1", &rc);
  EXPECT_EQ(rc, 3);
  EXPECT_NE(out.find("/no/such/place"), std::string::npos);
  const std::string dir = testing::make_temp_dir("cli");
  out = testing::run_command(rslicer_bin() + " inspect --data " + dir + " 2>&1", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("empty"), std::string::npos);
  out = testing::run_command(rslicer_bin() + " inspect --data " + dir + " --format parquet 2>&1", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("unknown format 'parquet'"), std::string::npos);
}

TEST(InspectCli, StrictTurnsTheFirstBadRecordIntoAnError) {
  const std::string dir = testing::make_temp_dir("strict") + "/rca_data/2023-01-29/trace";
  testing::write_file(dir + "/08_42_trace.csv",
                      "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
                      "t1,s1,root,ts-a-service-7f8d7d756d-k7b9j,/*,1674981768697000000,1674981769015316530,318316\n"
                      "t1,s2,s1,only,four,fields\n");
  const std::string root = dir.substr(0, dir.find("/rca_data"));
  int rc = 0;
  std::string out = testing::run_command(rslicer_bin() + " -q inspect --json --data " + root + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["rejected"]["count"].get<int>(), 1);
  out = testing::run_command(rslicer_bin() + " -q inspect --strict --data " + root + " 2>&1", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("08_42_trace.csv:3: expected 8 fields, got 6 (strict mode)"), std::string::npos) << out;
}

}  // namespace
}  // namespace rslicer
