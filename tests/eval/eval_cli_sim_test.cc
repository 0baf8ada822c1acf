// End to end on a small simulated dataset (issue 6: tests use simulated data
// where real data is too big): simulate -> rslicer eval -> metrics.json and
// report.html with the documented keys; the BARO baseline must find the
// simulator's loud faults.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace rslicer {
namespace {

std::string rslicer_bin() { return testing::binary_dir() + "/bin/rslicer"; }

TEST(EvalCli, SimulatedDatasetEndToEnd) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-sim");
  int rc = -1;
  std::string out = testing::run_command(rslicer_bin() + " -q simulate --out " + dir +
                                             "/data --format nezha --services 6 --hours 3 --faults 6 --seed 5 2>&1",
                                         &rc);
  ASSERT_EQ(rc, 0) << out;
  out = testing::run_command(rslicer_bin() + " -q eval --data " + dir + "/data --out " + dir +
                                 "/report --train-minutes 0.2 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("[eval]"), std::string::npos) << "-q silences the status lines too: " << out;
  std::ifstream in(dir + "/report/metrics.json");
  ASSERT_TRUE(in) << "metrics.json written";
  const auto j = nlohmann::json::parse(in);
  for (const char* k : {"precision", "recall", "f1"}) {
    EXPECT_TRUE(j["ad"]["event"][k].is_number()) << k;
    EXPECT_TRUE(j["ad"]["point"][k].is_number()) << k;
    EXPECT_TRUE(j["ft"][k].is_number()) << k;
  }
  EXPECT_TRUE(j["ad"]["alarm_time_fraction"].is_number());
  for (const char* k : {"ac@1", "ac@3", "ac@5", "avg@5"}) EXPECT_TRUE(j["rcl"][k].is_number()) << k;
  EXPECT_EQ(j["cases"]["train"].get<int>() + j["cases"]["test"].get<int>(), 6);
  ASSERT_TRUE(j["baselines"].contains("baro"));
  EXPECT_GE(j["baselines"]["baro"]["rcl"]["ac@3"].get<double>(), 0.5) << "simulated faults are loud";
  EXPECT_GT(std::filesystem::file_size(dir + "/report/report.html"), 10000u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
