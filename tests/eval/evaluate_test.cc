// The fold x method loop and the report on generated data: two days of
// slices with two runtime states, faults of two types that move the state
// embedding in a type-specific direction and move the root cause pod's entity
// embedding and CPU. Our heads must find them; the report must render in
// Chromium.
#include "eval/eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "api/html.h"
#include "eval/report.h"
#include "test_util.h"

namespace rslicer::eval {
namespace {

const TimeUs kMin = 60 * kUsPerSecond;

struct Synthetic {
  EvalData ed;
  MetricTable table;
  std::vector<SliceEmbedding> slices;
};

Synthetic make_data() {
  Synthetic d;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 0.03);
  const int pods = 5;
  for (int p = 0; p < pods; ++p) {
    d.ed.entities.names.push_back("svc" + std::to_string(p) + "-pod");
    d.ed.entities.kinds.push_back("pod");
    d.ed.entities.services.push_back("svc" + std::to_string(p));
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
      f.root_cause = d.ed.entities.names[i % pods];
      d.ed.faults.push_back(f);
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
      for (size_t f = 0; f < d.ed.faults.size(); ++f)
        if (d.ed.faults[f].start < s.end && d.ed.faults[f].end > s.start) {
          s.faults.push_back(static_cast<std::uint32_t>(f));
          v[d.ed.faults[f].fault_type == "cpu" ? 2 : 3] += 0.8;
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
        for (auto& f : d.ed.faults)
          if (t >= f.start && t < f.end && f.root_cause == d.ed.entities.names[p]) cpu += 40;
        d.table.add(d.ed.entities.names[p], d.ed.entities.services[p], "pod", "cpu", t, cpu);
      }
    }
  d.table.finish();
  d.ed.metrics = &d.table;
  d.ed.stride_s = 60;
  d.ed.windows = slice_windows(d.slices);
  for (const auto& s : d.slices) d.ed.slice_faults.push_back(s.faults);
  RawScoreOptions ro;
  for (const auto& w : d.ed.windows) d.ed.raw_scores.push_back(raw_window_score(d.table, w.first, w.second, ro));
  return d;
}

// Runs every method on one fold of the time-per-day split with `rep` as our representation.
EvalResult evaluate_synthetic(const Synthetic& d, const HeadOptions& heads, int bootstrap) {
  EvalResult res;
  res.faults = d.ed.faults;
  res.split = make_split("time-per-day", d.ed.faults, d.slices.front().start, d.slices.back().end);
  Representation rep;
  rep.name = "rslicer";
  rep.slices = d.slices;
  EvalOptions o;
  o.bootstrap_samples = bootstrap;
  evaluate(d.ed, methods(false), [&](size_t) { return rep; }, nullptr, heads, 1234, o, res);
  res.config = {{"data", "synthetic"}, {"format", "generated"}};
  res.metrics = metrics_json(res);
  return res;
}

TEST(Evaluate, FindsSyntheticFaultsAndBeatsTrivialBaselines) {
  Synthetic d = make_data();
  HeadOptions published;
  published.spot.q = 0.1;  // the published protocol, as rslicer eval uses it
  EvalResult r = evaluate_synthetic(d, published, 100);
  nlohmann::json m = r.metrics;
  EXPECT_EQ(m["cases"]["train"], 14);
  EXPECT_EQ(m["cases"]["test"], 10);
  // SPOT is calibrated on the normal training slices: every fault found, and about q of the normal time in alarm
  const auto& pt = m["ad"]["point"];
  EXPECT_GT(pt["recall"].get<double>(), 0.9);
  const double normal_points = m["ad"]["test_points"].get<double>() - pt["tp"].get<double>() - pt["fn"].get<double>();
  EXPECT_LT(pt["fp"].get<double>() / normal_points, 1.5 * published.spot.q);
  EXPECT_GT(pt["f1"].get<double>(), 3 * m["baselines"]["always_anomalous"]["ad"]["point"]["f1"].get<double>());
  EXPECT_LT(m["ad"]["alarm_time_fraction"].get<double>(), 0.25);
  // the AD score ranks the fault slices above the normal ones, whatever the threshold; alarming everywhere cannot
  EXPECT_GT(m["ad"]["auroc"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(m["baselines"]["always_anomalous"]["ad"]["auroc"].get<double>(), 0.5);
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
  std::string dir = testing::make_temp_dir("rslicer_report");
  std::string html = write_report(dir, r);
  std::ifstream jf(dir + "/metrics.json");
  nlohmann::json back = nlohmann::json::parse(jf);
  for (const char* k : {"precision", "recall", "f1"}) {
    EXPECT_TRUE(back["ad"]["event"].contains(k));
    EXPECT_TRUE(back["ad"]["point"].contains(k));
    EXPECT_TRUE(back["ft"].contains(k));
  }
  for (const char* k : {"ac@1", "ac@3", "ac@5", "avg@5"}) EXPECT_TRUE(back["rcl"].contains(k));
  EXPECT_TRUE(back["ad"].contains("alarm_time_fraction"));
  std::string text = render_html(r);
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_EQ(text.find("<script"), std::string::npos);
  EXPECT_EQ(text.find("http://"), text.find("http://www.w3.org/2000/svg"));  // no external resources
  EXPECT_NE(results_table(r).find("baro"), std::string::npos);
  // the notes under the table: the fault share always_anomalous scores, and ours' AD score
  const std::string notes = reading_notes(r);
  const double share = m["baselines"]["always_anomalous"]["ad"]["point"]["precision"].get<double>();
  EXPECT_NE(notes.find("AD: " + html::num(100 * share, 0) + " % of the test slices lie inside a labelled fault"),
            std::string::npos)
      << notes;
  EXPECT_EQ(notes.find("hard to beat"), std::string::npos) << "a fault share under 30 %: " << notes;
  EXPECT_NE(notes.find("AD score of ours: " + r.find("rslicer")->fold_info[0]["ad_score"].get<std::string>()),
            std::string::npos)
      << notes;
  // a detector that alarms nearly everywhere while its score ranks well gets a note that says so
  EXPECT_EQ(notes.find("lies below most test scores"), std::string::npos) << notes;
  EvalResult everywhere = r;
  for (auto& s : everywhere.scores)
    if (s.name == "spot_raw") {
      s.ad->point.alarm_time_fraction = 0.95;
      s.ad->auroc = 0.9;
    }
  EXPECT_NE(reading_notes(everywhere)
                .find("AD: spot_raw alarms on 95.0 % of the test time, yet ranks the test slices "
                      "with AD-AUC 0.900"),
            std::string::npos)
      << reading_notes(everywhere);

  if (!testing::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed";
  double busy = testing::chromium_screenshot_busy_fraction(html, dir + "/shot.png");
  EXPECT_GT(busy, 0.005);
  std::string dom = testing::chromium_dump_dom(html);
  EXPECT_NE(dom.find("RuntimeSlicer evaluation report"), std::string::npos);
  EXPECT_NE(dom.find("Root cause rankings"), std::string::npos);
}

// The RCL head's per-entity evidence: the entity embeddings carry no root cause signal here, the root
// cause pod's span self time does (5x in the case window). The head chosen by leave-one-out on the
// training cases must use the evidence; without it the ranking is at chance.
TEST(Evaluate, RclHeadUsesSpanSelfTimeEvidence) {
  Synthetic d = make_data();
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0, 0.03);
  for (auto& s : d.slices)
    for (size_t k = 0; k < s.entity_embeddings.size(); ++k)
      s.entity_embeddings[k] = static_cast<float>(g(rng) + 0.1 * static_cast<double>(k / 3));
  TraceTable traces;
  std::vector<std::string> names = d.ed.entities.names;
  names.push_back("front");
  int trace_no = 0;
  auto add_minute = [&](TimeUs t, const std::string& root) {
    std::vector<Span> spans;
    for (int k = 0; k < 10; ++k)
      for (size_t p = 0; p < d.ed.entities.names.size(); ++p) {
        Span parent, child;
        parent.trace_id = child.trace_id = std::to_string(trace_no++);
        parent.span_id = "a";
        parent.entity = static_cast<Id>(names.size() - 1);
        child.span_id = "b";
        child.parent_id = "a";
        child.entity = static_cast<Id>(p);
        parent.start = child.start = t + k;
        child.duration_us = (d.ed.entities.names[p] == root ? 5000 : 1000) + 50 * static_cast<int>((k + p) % 3);
        parent.duration_us = child.duration_us + 300;
        spans.push_back(parent);
        spans.push_back(child);
      }
    traces.add_spans(spans, names);
  };
  for (auto& f : d.ed.faults) {
    for (int m = 0; m < 3; ++m) add_minute(f.start + m * kMin, f.root_cause);
    add_minute(f.start - 20 * kMin, "");  // one normal minute before each fault
  }
  d.ed.traces = &traces;
  d.ed.metrics = nullptr;  // no metric evidence either: only the traces
  HeadOptions o;
  o.spot.q = 0.1;
  nlohmann::json with = evaluate_synthetic(d, o, 10).metrics;
  EXPECT_GT(with["rcl"]["ac@1"].get<double>(), 0.9);
  std::string head = with["fold_info"][0]["rcl_head"];
  EXPECT_NE(head.find("evidence"), std::string::npos) << head;
  // it replaced the parameter-free ranking because it won the paired comparison clearly, not by a case or two
  EXPECT_LE(with["fold_info"][0]["rcl_train_loo_sign_test_p"][head].get<double>(), 0.05)
      << with["fold_info"][0].dump();
  o.rcl_trace_evidence = false;
  nlohmann::json without = evaluate_synthetic(d, o, 10).metrics;
  EXPECT_LT(without["rcl"]["ac@1"].get<double>(), 0.6);
}

}  // namespace
}  // namespace rslicer::eval
