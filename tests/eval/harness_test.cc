// The harness and the report on generated data: two days of slices with two
// runtime states, faults of two types that move the state embedding in a
// type-specific direction and move the root cause pod's entity embedding and
// CPU. Our heads must find them; the report must render in Chromium.
#include "eval/harness.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "eval/report.h"
#include "test_util.h"

namespace rslicer::eval {
namespace {

const TimeUs kMin = 60 * kUsPerSecond;

struct Synthetic {
  EvalContext ctx;
  MetricTable table;
  std::vector<SliceEmbedding> slices;
};

Synthetic make_data() {
  Synthetic d;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 0.03);
  const int pods = 5;
  for (int p = 0; p < pods; ++p) {
    d.ctx.entity_names.push_back("svc" + std::to_string(p) + "-pod");
    d.ctx.entity_kinds.push_back("pod");
    d.ctx.entity_services.push_back("svc" + std::to_string(p));
  }
  TimeUs day0 = *parse_datetime("2023-01-29 00:00:00");
  // Faults every 40 minutes from 02:00 to 10:00 on each day, types alternate, root causes rotate.
  for (int day = 0; day < 2; ++day)
    for (int i = 0; i < 12; ++i) {
      FaultEvent f;
      f.start = day0 + day * 1440 * kMin + (120 + 40 * i) * kMin;
      f.end = f.start + 3 * kMin;
      f.fault_type = i % 2 ? "cpu" : "delay";
      f.level = "pod";
      f.root_cause = d.ctx.entity_names[i % pods];
      d.ctx.faults.push_back(f);
    }
  for (int day = 0; day < 2; ++day)
    for (int m = 0; m < 720; ++m) {
      SliceEmbedding s;
      s.start = day0 + day * 1440 * kMin + m * kMin;
      s.end = s.start + 3 * kMin;
      s.index = s.start / kMin;
      int state = (m / 90) % 2;  // load level alternates every 90 minutes
      std::vector<double> v = {state ? 1.0 : 0.0, state ? 0.0 : 1.0, 0, 0};
      int root = -1;
      for (size_t f = 0; f < d.ctx.faults.size(); ++f)
        if (d.ctx.faults[f].start < s.end && d.ctx.faults[f].end > s.start) {
          s.faults.push_back(static_cast<std::uint32_t>(f));
          v[d.ctx.faults[f].fault_type == "cpu" ? 2 : 3] += 0.8;
          root = static_cast<int>(f % 12) % pods;
        }
      for (auto& x : v) x += g(rng);
      for (auto x : v) s.state.push_back(static_cast<float>(x));
      s.entity_dim = 3;
      for (int p = 0; p < pods; ++p) {
        s.entities.push_back(static_cast<Id>(p));
        for (int j = 0; j < 3; ++j)
          s.entity_embeddings.push_back(static_cast<float>(g(rng) + (p == root && j == 0 ? 0.6 : 0.0) + 0.1 * p));
      }
      d.slices.push_back(std::move(s));
    }
  for (int day = 0; day < 2; ++day)
    for (int m = 0; m < 722; ++m) {
      TimeUs t = day0 + day * 1440 * kMin + m * kMin;
      for (int p = 0; p < pods; ++p) {
        double cpu = 50 + 5 * g(rng) / 0.03;
        for (auto& f : d.ctx.faults)
          if (t >= f.start && t < f.end && f.root_cause == d.ctx.entity_names[p]) cpu += 40;
        d.table.add(d.ctx.entity_names[p], d.ctx.entity_services[p], "pod", "cpu", t, cpu);
      }
    }
  d.table.finish();
  d.ctx.raw = &d.table;
  return d;
}

// Fraction of bytes of a PNG's decompressed image data that are neither 0 nor
// 255 (a blank page is all one colour: filtered rows are then ~all 0 / 255).
double png_busy_fraction(const std::string& path, bool* ok) {
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), {});
  *ok = data.size() > 8 && data.compare(1, 3, "PNG") == 0;
  if (!*ok) return 0;
  std::string idat;
  size_t pos = 8;
  while (pos + 8 <= data.size()) {
    std::uint32_t len = (static_cast<unsigned char>(data[pos]) << 24) | (static_cast<unsigned char>(data[pos + 1]) << 16) |
                        (static_cast<unsigned char>(data[pos + 2]) << 8) | static_cast<unsigned char>(data[pos + 3]);
    std::string type = data.substr(pos + 4, 4);
    if (type == "IDAT") idat += data.substr(pos + 8, len);
    pos += 12 + len;
  }
  std::vector<unsigned char> out(64 << 20);
  uLongf n = out.size();
  *ok = uncompress(out.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK;
  if (!*ok || n == 0) return 0;
  size_t busy = 0;
  for (uLongf i = 0; i < n; ++i) busy += out[i] != 0 && out[i] != 255;
  return static_cast<double>(busy) / n;
}

TEST(Harness, FindsSyntheticFaultsAndBeatsTrivialBaselines) {
  Synthetic d = make_data();
  CaseSplit split = make_split("time-per-day", d.ctx.faults, d.slices.front().start, d.slices.back().end);
  FoldInput in;
  in.fold = &split.folds[0];
  Representation rep;
  rep.name = "rslicer";
  rep.slices = d.slices;
  in.reps.push_back(rep);
  HarnessOptions o;
  o.bootstrap_samples = 100;
  HarnessResult r = run_harness(d.ctx, {in}, o);
  nlohmann::json m = score_runs(d.ctx, r, o);
  EXPECT_EQ(m["cases"]["train"], 14);
  EXPECT_EQ(m["cases"]["test"], 10);
  EXPECT_GT(m["ad"]["point"]["f1"].get<double>(), 0.7);
  EXPECT_LT(m["ad"]["alarm_time_fraction"].get<double>(), 0.25);
  EXPECT_GT(m["ft"]["f1"].get<double>(), 0.9);
  EXPECT_GT(m["rcl"]["ac@1"].get<double>(), 0.9);
  EXPECT_GE(m["rcl"]["ac@3"].get<double>(), m["rcl"]["ac@1"].get<double>());
  for (const char* b : {"always_anomalous", "majority", "spot_raw", "baro", "nsigma", "knn_raw"})
    EXPECT_TRUE(m["baselines"].contains(b)) << b;
  EXPECT_TRUE(m["ablation"].contains("rslicer_global"));
  // Sanity row: the always-anomalous detector wins the published event metric but not point-wise precision.
  EXPECT_DOUBLE_EQ(m["baselines"]["always_anomalous"]["ad"]["event"]["recall"].get<double>(), 1.0);
  EXPECT_LT(m["baselines"]["always_anomalous"]["ad"]["point"]["precision"].get<double>(), 0.2);
  // BARO finds the CPU root cause on raw metrics.
  EXPECT_GT(m["baselines"]["baro"]["rcl"]["ac@1"].get<double>(), 0.9);
  EXPECT_EQ(m["baselines"]["majority"]["ft"]["f1"].get<double>() < 0.5, true);
  auto ci = m["ci95"]["rcl.ac@1"];
  EXPECT_LE(ci[0].get<double>(), m["rcl"]["ac@1"].get<double>());
  EXPECT_GE(ci[1].get<double>(), m["rcl"]["ac@1"].get<double>() - 1e-12);

  // Report: metrics.json keys and a non-blank rendering.
  m["split"] = {{"kind", split.kind}, {"description", split.description}};
  m["config"] = {{"data", "synthetic"}, {"format", "generated"}};
  std::string dir = testing::make_temp_dir("rslicer_report");
  std::string html = write_report(dir, m, d.ctx, r);
  std::ifstream jf(dir + "/metrics.json");
  nlohmann::json back = nlohmann::json::parse(jf);
  for (const char* k : {"precision", "recall", "f1"}) {
    EXPECT_TRUE(back["ad"]["event"].contains(k));
    EXPECT_TRUE(back["ad"]["point"].contains(k));
    EXPECT_TRUE(back["ft"].contains(k));
  }
  for (const char* k : {"ac@1", "ac@3", "ac@5", "avg@5"}) EXPECT_TRUE(back["rcl"].contains(k));
  EXPECT_TRUE(back["ad"].contains("alarm_time_fraction"));
  std::string text = render_html(m, d.ctx, r);
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_EQ(text.find("<script"), std::string::npos);
  EXPECT_EQ(text.find("http://"), text.find("http://www.w3.org/2000/svg"));  // no external resources
  EXPECT_NE(results_table(m).find("baro"), std::string::npos);

  if (!testing::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed";
  std::string png = dir + "/shot.png";
  std::string profile = testing::make_temp_dir("rslicer_chromium");
  int rc = 0;
  testing::run_command("timeout 90 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                       "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
                           profile + " --screenshot=" + png + " --window-size=1200,2000 file://" + html + " 2>&1",
                       &rc);
  ASSERT_TRUE(testing::exists(png)) << "chromium exit " << rc;
  bool ok = false;
  double busy = png_busy_fraction(png, &ok);
  ASSERT_TRUE(ok);
  EXPECT_GT(busy, 0.005);
  std::string dom = testing::run_command(
      "timeout 90 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
      profile + " --dump-dom file://" + html + " 2>/dev/null");
  EXPECT_NE(dom.find("RuntimeSlicer evaluation report"), std::string::npos);
  EXPECT_NE(dom.find("Root cause rankings"), std::string::npos);
}

// The RCL head's per-entity evidence: the entity embeddings carry no root cause signal here, the root
// cause pod's span self time does (5x in the case window). The head chosen by leave-one-out on the
// training cases must use the evidence; without it the ranking is at chance.
TEST(Harness, RclHeadUsesSpanSelfTimeEvidence) {
  Synthetic d = make_data();
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0, 0.03);
  for (auto& s : d.slices)
    for (size_t k = 0; k < s.entity_embeddings.size(); ++k)
      s.entity_embeddings[k] = static_cast<float>(g(rng) + 0.1 * static_cast<double>(k / 3));
  TraceTable traces;
  std::vector<std::string> names = d.ctx.entity_names;
  names.push_back("front");
  int trace_no = 0;
  auto add_minute = [&](TimeUs t, const std::string& root) {
    std::vector<Span> spans;
    for (int k = 0; k < 10; ++k)
      for (size_t p = 0; p < d.ctx.entity_names.size(); ++p) {
        Span parent, child;
        parent.trace_id = child.trace_id = std::to_string(trace_no++);
        parent.span_id = "a";
        parent.entity = static_cast<Id>(names.size() - 1);
        child.span_id = "b";
        child.parent_id = "a";
        child.entity = static_cast<Id>(p);
        parent.start = child.start = t + k;
        child.duration_us = (d.ctx.entity_names[p] == root ? 5000 : 1000) + 50 * static_cast<int>((k + p) % 3);
        parent.duration_us = child.duration_us + 300;
        spans.push_back(parent);
        spans.push_back(child);
      }
    traces.add_spans(spans, names);
  };
  for (auto& f : d.ctx.faults) {
    for (int m = 0; m < 3; ++m) add_minute(f.start + m * kMin, f.root_cause);
    add_minute(f.start - 20 * kMin, "");  // one normal minute before each fault
  }
  d.ctx.traces = &traces;
  d.ctx.raw = nullptr;  // no metric evidence either: only the traces
  CaseSplit split = make_split("time-per-day", d.ctx.faults, d.slices.front().start, d.slices.back().end);
  FoldInput in;
  in.fold = &split.folds[0];
  Representation rep;
  rep.name = "rslicer";
  rep.slices = d.slices;
  in.reps.push_back(rep);
  HarnessOptions o;
  o.bootstrap_samples = 10;
  nlohmann::json with = score_runs(d.ctx, run_harness(d.ctx, {in}, o), o);
  EXPECT_GT(with["rcl"]["ac@1"].get<double>(), 0.9);
  std::string head = with["fold_info"][0]["rcl_head"];
  EXPECT_NE(head.find("evidence"), std::string::npos) << head;
  o.rcl_trace_evidence = false;
  nlohmann::json without = score_runs(d.ctx, run_harness(d.ctx, {in}, o), o);
  EXPECT_LT(without["rcl"]["ac@1"].get<double>(), 0.6);
}

}  // namespace
}  // namespace rslicer::eval
