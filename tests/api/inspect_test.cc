#include <gtest/gtest.h>

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
