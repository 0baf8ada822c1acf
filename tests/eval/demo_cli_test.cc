// DemoCli: `rslicer demo`'s simulated part (a system with continuous telemetry, where point-wise anomaly detection
// means something) on small settings: it writes its data beside its report, scores AD with a realistic share of
// normal time, reuses the data it wrote, rewrites what an interrupted run left and never touches a folder it did
// not write.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace rslicer {
namespace {

std::string rslicer_bin() { return testing::binary_dir() + "/bin/rslicer"; }

TEST(DemoCli, SimulatedPartScoresAnomalyDetectionOnItsOwnData) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-demo");
  testing::write_file(dir + "/train.json", R"({"max_epochs": 1, "max_minutes": 0})");
  const std::string cmd = rslicer_bin() +
                          " demo --part simulated --sim-hours 8 --sim-faults 6 --bootstrap 50 --config " + dir +
                          "/train.json --out " + dir + "/out 2>&1";
  int rc = -1;
  const std::string out = testing::run_command(cmd, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("simulating 8 h of a 12-service system (seed 42)"), std::string::npos) << out;
  EXPECT_NE(out.find("a simulated system with continuous telemetry (rslicer simulate: 12 services, 8 h, 6 faults"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("part 1"), std::string::npos) << "only the simulated part was asked for:\n" << out;
  EXPECT_TRUE(testing::exists(dir + "/out/simulated-data/traces.jsonl.gz"));
  EXPECT_TRUE(testing::exists(dir + "/out/simulated/report.html"));

  std::ifstream in(dir + "/out/simulated/metrics.json");
  ASSERT_TRUE(in) << "metrics.json written";
  const auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["split"]["kind"].get<std::string>(), "time");
  EXPECT_GE(m["cases"]["test"].get<int>(), 1);
  // a realistic share of normal time: alarming everywhere is right on few of the test slices
  const auto& always = m["baselines"]["always_anomalous"]["ad"]["point"];
  EXPECT_GT(always["tp"].get<int>(), 0);
  EXPECT_LT(always["precision"].get<double>(), 0.3) << always.dump();
  EXPECT_GT(m["ad"]["point"]["tp"].get<int>() + m["ad"]["point"]["fn"].get<int>(), 0);
  EXPECT_NE(out.find("of the test slices lie inside a labelled fault"), std::string::npos) << out;

  // the same settings again: the data it wrote is reused, not simulated twice
  const std::string again = testing::run_command(cmd, &rc);
  ASSERT_EQ(rc, 0) << again;
  EXPECT_NE(again.find("reusing the simulated system in " + dir + "/out/simulated-data"), std::string::npos) << again;

  // a folder left by an interrupted demo (its settings recorded, not marked complete) is written again
  testing::write_file(dir + "/out/simulated-data.json", R"({"complete": false, "simulator": {}})");
  const std::string rewritten = testing::run_command(cmd, &rc);
  ASSERT_EQ(rc, 0) << rewritten;
  EXPECT_NE(rewritten.find("simulating 8 h"), std::string::npos) << rewritten;
  EXPECT_TRUE(testing::exists(dir + "/out/simulated-data/traces.jsonl.gz"));

  // a folder of that name the demo did not write is an error naming it, and stays as it was
  testing::run_command("mkdir -p " + dir + "/other/simulated-data && touch " + dir + "/other/simulated-data/mine");
  const std::string refused = testing::run_command(
      rslicer_bin() + " demo --part simulated --sim-hours 8 --sim-faults 6 --out " + dir + "/other 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(refused.find(dir + "/other/simulated-data: exists and was not written by rslicer demo"), std::string::npos)
      << refused;
  EXPECT_TRUE(testing::exists(dir + "/other/simulated-data/mine"));
  testing::run_command("rm -rf " + dir);
}

TEST(DemoCli, InvalidSimulatorSettingsFailBeforeAnyWork) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-demo-bad");
  int rc = -1;
  const std::string out =
      testing::run_command(rslicer_bin() + " demo --part simulated --sim-hours -3 --out " + dir + "/out 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("hours"), std::string::npos) << out;
  EXPECT_FALSE(testing::exists(dir + "/out/simulated-data"));

  // settings the simulator can only refuse when it runs (too many faults for the hours) stop the demo before its
  // first part trains anything
  const std::string crowded =
      testing::run_command(rslicer_bin() + " demo --sim-hours 1 --sim-faults 32 --out " + dir + "/crowded 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(crowded.find("raise hours"), std::string::npos) << crowded;
  EXPECT_FALSE(testing::exists(dir + "/crowded/sample"));
  testing::run_command("rm -rf " + dir);
}

}  // namespace
}  // namespace rslicer
