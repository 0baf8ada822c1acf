// The readers load every format the simulator writes, with the simulator's
// own counts: write_dataset() then open_source() for nezha, aiops22 and otlp,
// and `rslicer simulate` against `rslicer inspect` when the binary is built.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ingest/source.h"
#include "ingest/writer.h"
#include "sim/simulator.h"
#include "test_util.h"

namespace rslicer::sim {
namespace {

SimConfig roundtrip_config() {
  SimConfig c;
  c.services = 8;
  c.hours = 0.75;
  c.faults = 2;
  c.fault_types = {"exception", "pod_kill"};  // error spans, a missing metric row, restart logs
  c.fault_gap_s = 300;
  c.fault_duration_s = 240;
  c.trace_sample_rate = 0.05;
  c.seed = 5;
  return c;
}

class SimRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SimRoundTripTest, ReaderCountsEqualSimulatorCounts) {
  const std::string format = GetParam();
  const SimResult r = simulate(roundtrip_config());
  ASSERT_GT(r.counts.spans, 0);
  ASSERT_GT(r.counts.log_records, 0);
  const std::string dir = testing::make_temp_dir("rslicer_sim_" + format);
  write_dataset(dir, format, r.data, WriteOptions{});

  auto src = open_source(dir, format, ReadOptions{});
  ASSERT_TRUE(src);
  const auto faults = src->faults();
  auto stream = src->open();
  Record rec;
  std::int64_t n = 0, errors = 0;
  while (stream->next(rec)) {
    ++n;
    if (auto* s = std::get_if<Span>(&rec)) errors += s->error;
  }
  EXPECT_EQ(src->stats().rejected, 0) << (src->stats().examples.empty() ? "" : src->stats().examples[0]);
  EXPECT_EQ(src->counts().metric_points, r.counts.metric_points);
  EXPECT_EQ(src->counts().spans, r.counts.spans);
  EXPECT_EQ(src->counts().log_records, r.counts.log_records);
  EXPECT_EQ(n, r.counts.metric_points + r.counts.spans + r.counts.log_records);
  ASSERT_EQ(faults.size(), r.data.faults.size());
  for (size_t i = 0; i < faults.size(); ++i) {
    EXPECT_EQ(faults[i].start, r.data.faults[i].start);
    EXPECT_EQ(faults[i].root_cause, r.data.faults[i].root_cause);
    EXPECT_EQ(faults[i].fault_type, r.data.faults[i].fault_type);
  }
  EXPECT_EQ(errors, r.counts.error_spans);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Formats, SimRoundTripTest, ::testing::Values("nezha", "aiops22", "otlp"));

TEST(SimCliTest, InspectAgreesWithSimulate) {
  const std::string bin = testing::binary_dir() + "/bin/rslicer";
  if (!testing::exists(bin)) GTEST_SKIP() << "rslicer binary not built: " << bin;
  const std::string dir = testing::make_temp_dir("rslicer_sim_cli");
  int rc = -1;
  const std::string sim_out = testing::run_command(
      bin + " -q simulate --out " + dir + "/data --format aiops22 --services 6 --hours 0.5 --faults 1 --seed 3 --json",
      &rc);
  ASSERT_EQ(rc, 0) << sim_out;
  const auto sim = nlohmann::json::parse(sim_out);
  const std::string inspect_out = testing::run_command(bin + " -q inspect --data " + dir + "/data --json", &rc);
  ASSERT_EQ(rc, 0) << inspect_out;
  const auto ins = nlohmann::json::parse(inspect_out);
  EXPECT_EQ(ins["metrics"]["points"], sim["metrics"]["points"]);
  EXPECT_EQ(ins["traces"]["spans"], sim["traces"]["spans"]);
  EXPECT_EQ(ins["traces"]["traces"], sim["traces"]["traces"]);
  EXPECT_EQ(ins["logs"]["records"], sim["logs"]["records"]);
  EXPECT_EQ(ins["faults"], sim["faults"]);
  EXPECT_EQ(ins["rejected"]["count"], 0);
  // a config file and its unknown-key error
  testing::write_file(dir + "/bad.json", R"({"services": 6, "hourz": 1})");
  const std::string bad =
      testing::run_command(bin + " -q simulate --out " + dir + "/x --config " + dir + "/bad.json 2>&1", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(bad.find("hourz"), std::string::npos) << bad;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer::sim
