// End to end on a small simulated dataset (issue 6: tests use simulated data
// where real data is too big): simulate -> rslicer eval -> metrics.json and
// report.html with the documented keys; the BARO baseline must find the
// simulator's loud faults.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/csv.h"
#include "test_util.h"

namespace rslicer {
namespace {

std::string rslicer_bin() { return testing::binary_dir() + "/bin/rslicer"; }

// scripts/drop_services.py, run by the reference python (a copy of a dataset with less tracing or logging)
std::string drop_services_script() {
  return "/usr/bin/python3 " + testing::source_dir() + "/scripts/drop_services.py ";
}

// 3 simulated hours of 6 services with 6 faults (the first 10 minutes fault-free) in DIR/data.
std::string simulate(const std::string& dir, int* rc) {
  return testing::run_command(
      rslicer_bin() + " -q simulate --out " + dir + "/data --format nezha --services 6 --hours 3 --faults 6 --seed 5 2>&1",
      rc);
}

TEST(EvalCli, SimulatedDatasetEndToEnd) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-sim");
  int rc = -1;
  std::string out = simulate(dir, &rc);
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

  // the per-point AD decisions and the per-case rankings beside metrics.json: one row per test point / case
  auto lines_of = [](const std::string& path, const std::string& method) {
    std::ifstream f(path);
    std::string header, line;
    std::getline(f, header);
    size_t n = 0;
    while (std::getline(f, line)) n += line.rfind(method + ",", 0) == 0;
    return std::make_pair(header, n);
  };
  const auto [ad_header, ad_rows] = lines_of(dir + "/report/ad_points.csv", "rslicer");
  EXPECT_EQ(ad_header, "method,time,score,threshold,alarm,faulty,faults,embedding,events,entity,kpi");
  EXPECT_EQ(ad_rows, j["ad"]["test_points"].get<size_t>());
  {
    // each AD part's own score per point (the last four columns, empty where the part is not in use or the method
    // has no parts), and ad.part_auroc is their AUROC over the test points: recomputed here from the CSV (ties
    // count a half)
    ASSERT_TRUE(j["ad"].contains("part_auroc")) << j["ad"].dump();
    ASSERT_TRUE(j["ad"]["part_auroc"].contains("events")) << "ours' AD score has the event part";
    std::ifstream f(dir + "/report/ad_points.csv");
    std::string line;
    std::getline(f, line);
    std::map<std::string, std::vector<std::pair<double, bool>>> parts;  // key -> (score, faulty)
    const char* keys[4] = {"embedding", "events", "entity", "kpi"};
    size_t always_rows = 0;
    while (std::getline(f, line)) {
      std::vector<std::string> tail;  // the last four fields (the parts), then "faulty" two fields before them
      size_t end = line.size();
      for (int k = 0; k < 4; ++k) {
        const size_t comma = line.rfind(',', end - 1);
        tail.insert(tail.begin(), line.substr(comma + 1, end - comma - 1));
        end = comma;
      }
      if (line.rfind("always_anomalous,", 0) == 0) {
        ++always_rows;
        for (const auto& t : tail) EXPECT_TRUE(t.empty()) << "a method without parts: " << line;
      }
      if (line.rfind("rslicer,", 0) != 0) continue;
      // method,time,score,threshold,alarm,faulty,...: the sixth field
      size_t at = 0;
      for (int k = 0; k < 5; ++k) at = line.find(',', at) + 1;
      const bool faulty = line[at] == '1';
      for (int k = 0; k < 4; ++k)
        if (!tail[k].empty()) parts[keys[k]].push_back({std::stod(tail[k]), faulty});
    }
    EXPECT_GT(always_rows, 0u);
    std::ifstream html(dir + "/report/report.html");
    const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
    EXPECT_NE(page.find("Each part of the AD score alone"), std::string::npos) << "the report says it too";
    for (const auto& [key, auc] : j["ad"]["part_auroc"].items()) {
      const auto& v = parts[key];
      ASSERT_EQ(v.size(), j["ad"]["test_points"].get<size_t>()) << key;
      double wins = 0, pairs = 0;
      for (const auto& [a, fa] : v)
        if (fa)
          for (const auto& [b, fb] : v)
            if (!fb) {
              wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
              pairs += 1;
            }
      ASSERT_GT(pairs, 0) << key;
      EXPECT_NEAR(auc.get<double>(), wins / pairs, 1e-3) << key;  // the CSV holds 6 digits
    }
  }
  const auto [rcl_header, rcl_rows] = lines_of(dir + "/report/rcl_cases.csv", "baro");
  EXPECT_EQ(rcl_header,
            "method,time,fault_type,root_cause,rank,top1,top2,top3,top1_evidence,root_cause_evidence,top2_evidence,"
            "top3_evidence");
  EXPECT_EQ(rcl_rows, j["cases"]["test"].get<size_t>());
  {
    // the evidence of the second and third ranked entity: the labelled cause's own where it ranked there, and
    // present for ours (every entity it ranks has a reason)
    std::ifstream f(dir + "/report/rcl_cases.csv");
    std::string line, storage;
    std::getline(f, line);
    std::vector<std::string_view> col;
    size_t ours = 0, with_second = 0;
    while (std::getline(f, line)) {
      ASSERT_TRUE(split_csv_line(line, ',', col, storage)) << line;
      ASSERT_EQ(col.size(), 12u) << line;
      const int rank = std::stoi(std::string(col[4]));
      if (rank == 2 || rank == 3) {
        EXPECT_EQ(col[9], col[8 + rank]) << line;
      }
      if (col[0] != "rslicer") continue;
      ++ours;
      if (!col[6].empty()) {
        EXPECT_FALSE(col[10].empty()) << line;
        ++with_second;
      }
      if (col[7].empty()) {
        EXPECT_TRUE(col[11].empty()) << line;
      }
    }
    EXPECT_GT(ours, 0u);
    EXPECT_GT(with_second, 0u);
  }
  const auto [ft_header, ft_rows] = lines_of(dir + "/report/triage_cases.csv", "rslicer");
  EXPECT_EQ(ft_header, "method,time,root_cause,fault_type,predicted");
  size_t triaged = 0;  // every triaged case once, as the confusion matrix counts them
  for (const auto& row : j["ft"]["confusion"])
    for (const auto& n : row) triaged += n.get<size_t>();
  EXPECT_GT(triaged, 0u);
  EXPECT_EQ(ft_rows, triaged);

  // a given model: the heads are refitted with the request's settings (here the SPOT risk and the AD score
  // chosen on the training slices); what the model fixes (its features) cannot be changed, and saying so is an
  // error naming the key rather than a setting silently ignored
  const std::string again = rslicer_bin() + " -q eval --data " + dir + "/data --model " + dir + "/report/model";
  out = testing::run_command(again + " --out " + dir + "/given --methods rslicer --spot-q 0.01 --set heads.ad_score=auto 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream gin(dir + "/given/metrics.json");
  const auto g = nlohmann::json::parse(gin);
  EXPECT_DOUBLE_EQ(g["config"]["train"]["heads"]["spot"]["q"].get<double>(), 0.01);
  EXPECT_EQ(g["config"]["train"]["heads"]["ad_score"], "auto");
  const auto& info = g["fold_info"][0];
  ASSERT_TRUE(info.contains("ad_score_train_point_f1")) << info.dump();
  const std::string chosen = info["ad_score"];
  EXPECT_TRUE(chosen == "events+embedding" || chosen == "events" || chosen == "embedding") << chosen;
  for (auto& [mode, f1] : info["ad_score_train_point_f1"].items())
    EXPECT_LE(f1.get<double>(), info["ad_score_train_point_f1"][chosen].get<double>()) << mode << " beats " << chosen;
  out = testing::run_command(again + " --out " + dir + "/bad --set features.events.profile=causal 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("'features.events.profile' is fixed by the model (\"loo\"), not \"causal\""), std::string::npos)
      << out;
  std::filesystem::remove_all(dir);
}

// Controlled injection mixed into training (issue 11, item 4): a simulator source in the config teaches the
// encoder's entity head (L_entity) even where no label of the evaluated data may reach it (zero-label), and the
// learned root-cause scores become a ranking of their own. Without such a source there is no head and no ranking.
TEST(EvalCli, SimulatorSourcesTeachTheEntityHead) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-mix");
  int rc = -1;
  std::string out = simulate(dir, &rc);
  ASSERT_EQ(rc, 0) << out;
  {
    std::ofstream cfg(dir + "/mix.json");
    cfg << R"({"sources": [{"type": "simulator", "simulator": {"services": 5, "hours": 2, "faults": 4, "seed": 9}}]})";
  }
  const std::string eval = rslicer_bin() + " -q eval --data " + dir + "/data --split zero-label --train-minutes 0.2" +
                           " --methods rslicer,event_rules,rslicer_entity_scores_only,rslicer_with_entity_scores";
  out = testing::run_command(eval + " --config " + dir + "/mix.json --out " + dir + "/mix 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream mc(dir + "/mix/model/config.json");
  ASSERT_TRUE(mc) << "the encoder's model folder";
  EXPECT_TRUE(nlohmann::json::parse(mc)["encoder"]["entity_head"].get<bool>());
  std::ifstream mj(dir + "/mix/metrics.json");
  const auto j = nlohmann::json::parse(mj);
  EXPECT_EQ(j["cases"]["test"].get<int>(), 6);  // the evaluated data's cases; the simulator's are training only
  // the default AD score pairs the event score with the entity head's, not the kNN (docs/evaluation.md)
  EXPECT_EQ(j["fold_info"][0]["ad_score"], "events+entity") << j["fold_info"].dump();
  for (const char* m : {"rslicer_entity_scores_only", "rslicer_with_entity_scores"}) {
    ASSERT_TRUE(j.contains("ablation") && j["ablation"].contains(m)) << m << " in " << j.dump();
    EXPECT_TRUE(j["ablation"][m]["rcl"]["ac@1"].is_number()) << m;
  }
  out = testing::run_command(eval + " --out " + dir + "/plain 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream pc(dir + "/plain/model/config.json");
  EXPECT_FALSE(nlohmann::json::parse(pc)["encoder"]["entity_head"].get<bool>());
  std::ifstream pj(dir + "/plain/metrics.json");
  const auto p = nlohmann::json::parse(pj);
  EXPECT_FALSE(p.contains("ablation") && p["ablation"].contains("rslicer_entity_scores_only") &&
               p["ablation"]["rslicer_entity_scores_only"].contains("rcl"))
      << "no entity head, no ranking: " << p.dump();
  EXPECT_TRUE(p["baselines"].contains("event_rules"));
  EXPECT_EQ(p["fold_info"][0]["ad_score"], "events+embedding") << "without the head: events and the kNN";
  std::filesystem::remove_all(dir);
}

// profile = reference: the event profile from a period the user knows to be normal (the simulator keeps the
// first 10 minutes fault-free); without periods, or with a malformed one, a usage error before any data is read.
TEST(EvalCli, ZeroLabelWithAReferenceProfile) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-ref");
  int rc = -1;
  std::string out = simulate(dir, &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string eval = rslicer_bin() + " -q eval --data " + dir + "/data --split zero-label --methods event_rules";
  out = testing::run_command(eval + " --out " + dir + "/ref --set features.events.profile=reference"
                                    " --set features.events.reference=2024-01-01T00:00:00Z/2024-01-01T00:10:00Z 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream in(dir + "/ref/metrics.json");
  ASSERT_TRUE(in);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["config"]["train"]["features"]["events"]["profile"], "reference");
  EXPECT_GE(j["baselines"]["event_rules"]["rcl"]["ac@3"].get<double>(), 0.5) << "simulated faults are loud";
  out = testing::run_command(eval + " --out " + dir + "/bad --set features.events.profile=reference 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("needs the normal periods"), std::string::npos) << out;
  out = testing::run_command(eval + " --out " + dir + "/bad --set features.events.reference=2024-01-01 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("'2024-01-01' is not START/END"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

// scripts/drop_services.py (docs/results.md, "Half the services without tracing"): the copy lacks every span of
// the removed services and keeps the rest, and the zero-label ranking runs on it.
// A database has no spans of its own; in OTLP its callers' client spans name it (peer.service). Network delays
// injected into it are found by the calls into it (features.events.client_span_peers, on), and the evidence says
// where the time was seen; with the names ignored the delay shows only at its callers and ranks lower.
TEST(EvalCli, DelaysInADatabaseAreFoundByTheClientSpansThatNameIt) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-peers");
  int rc = -1;
  std::string out =
      testing::run_command(rslicer_bin() + " -q simulate --out " + dir +
                               "/data --format otlp --services 6 --hours 1.5 --faults 2 --seed 3"
                               " --set 'fault_services=[\"mysql\"]' --set 'fault_types=[\"network_delay\"]' 2>&1",
                           &rc);
  ASSERT_EQ(rc, 0) << out;
  // rank and top-1 evidence of each case (root causes and evidence hold no comma before the evidence column)
  auto cases = [&](const std::string& name, const std::string& peers) {
    const std::string o =
        testing::run_command(rslicer_bin() + " -q eval --data " + dir + "/data --out " + dir + "/" + name +
                                 " --split zero-label --methods event_rules"
                                 " --set features.events.client_span_peers=" +
                                 peers + " 2>&1",
                             &rc);
    EXPECT_EQ(rc, 0) << o;
    std::ifstream f(dir + "/" + name + "/rcl_cases.csv");
    std::string line;
    std::vector<std::pair<int, std::string>> rows;
    while (std::getline(f, line)) {
      if (line.rfind("event_rules,", 0) != 0) continue;
      std::vector<std::string> col;
      std::stringstream ss(line);
      for (std::string c; col.size() < 8 && std::getline(ss, c, ',');) col.push_back(c);
      std::string rest;
      std::getline(ss, rest);
      EXPECT_EQ(col[3], "mysql-0") << line;
      rows.emplace_back(std::stoi(col[4]), rest);
    }
    return rows;
  };
  const auto on = cases("on", "true");
  const auto off = cases("off", "false");
  ASSERT_EQ(on.size(), 2u);
  ASSERT_EQ(off.size(), 2u);
  for (size_t i = 0; i < on.size(); ++i) {
    EXPECT_EQ(on[i].first, 1) << on[i].second;
    EXPECT_NE(on[i].second.find("to mysql ("), std::string::npos) << on[i].second;
    EXPECT_NE(on[i].second.find("no spans of its own, named by the client spans) take "), std::string::npos)
        << on[i].second;
    EXPECT_GT(off[i].first, 1) << off[i].second;
    // ranked below the top but kept (2nd to 10th): its own evidence closes the row, after the winner's
    if (off[i].first <= 10) {
      EXPECT_NE(off[i].second.back(), ',') << off[i].second;
    }
  }
}

// scripts/drop_services.py --logs-around-faults: logs kept only around the labelled faults while the traces stay
// continuous (Nezha's logs beside TraStrainer's traces). The spans where logs were not being collected are not
// judged on their log steps (features.events.log_gaps), the run says how many, and every case is still scored.
TEST(EvalCli, ZeroLabelWithLogsOnlyAroundTheFaults) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-logwin");
  int rc = -1;
  std::string out = simulate(dir, &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string script = drop_services_script();
  out = testing::run_command(script + dir + "/data " + dir + "/logwin --logs-around-faults 60,180 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  long kept = -1, dropped = -1;
  ASSERT_EQ(std::sscanf(out.c_str(), "kept %ld log lines around 6 faults, dropped %ld", &kept, &dropped), 2) << out;
  EXPECT_GT(kept, 0) << out;
  EXPECT_GT(dropped, 3 * kept) << out << "(6 windows of 4 minutes in 3 hours)";
  auto rows = [&](const std::string& data, const std::string& kind) {  // data rows of every file of a kind
    return std::stol(testing::run_command("for f in $(find " + data + " -name '*_" + kind +
                                          ".csv.gz'); do zcat $f | tail -n +2; done | wc -l"));
  };
  EXPECT_EQ(rows(dir + "/logwin", "log"), kept);
  EXPECT_EQ(rows(dir + "/logwin", "trace"), rows(dir + "/data", "trace")) << "the traces stay as they are";
  // how many spans the run leaves unjudged: the note's count (0 without the note)
  auto unjudged = [&](const std::string& data, const std::string& name) {
    const std::string o = testing::run_command(rslicer_bin() + " eval --data " + dir + "/" + data + " --out " + dir +
                                                   "/" + name + " --split zero-label --methods event_rules 2>&1",
                                               &rc);
    EXPECT_EQ(rc, 0) << o;
    std::ifstream in(dir + "/" + name + "/metrics.json");
    EXPECT_TRUE(in) << o;
    if (in) {
      EXPECT_EQ(nlohmann::json::parse(in)["cases"]["test"].get<int>(), 6) << "every fault is scored";
    }
    const auto at = o.find(" span(s) (");
    if (at == std::string::npos || o.find("lie where logs were not being collected") == std::string::npos) return 0L;
    const auto begin = o.rfind("note: ", at);
    EXPECT_NE(begin, std::string::npos) << o;
    return std::stol(o.substr(begin + 6, at - begin - 6));
  };
  const long full = unjudged("data", "zl-data"), around = unjudged("logwin", "zl-logwin");
  EXPECT_GT(around, 10 * std::max(full, 1L)) << "full logs: " << full << ", logs around the faults: " << around;
  // --no-logs: metrics and traces only (the unseen systems' shape); every case is still scored, no span unjudged
  out = testing::run_command(script + dir + "/data " + dir + "/nologs --no-logs 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  long log_files = -1;
  ASSERT_EQ(std::sscanf(out.c_str(), "left out %ld log files", &log_files), 1) << out;
  EXPECT_EQ(log_files, std::stol(testing::run_command("find " + dir + "/data -name '*_log.csv.gz' | wc -l")));
  EXPECT_EQ(rows(dir + "/nologs", "log"), 0);
  EXPECT_EQ(rows(dir + "/nologs", "trace"), rows(dir + "/data", "trace"));
  EXPECT_EQ(unjudged("nologs", "zl-nologs"), 0);
  out = testing::run_command(script + dir + "/data " + dir + "/both --no-logs --logs-around-faults 60,180 2>&1", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("exclude each other"), std::string::npos) << out;
  // a log line whose time is not an integer: the script names the file and line, and leaves no half-written copy
  const std::string day = dir + "/bad/rca_data/2024-01-01";
  out = testing::run_command("mkdir -p " + day + "/log && printf '{\"00\": [{\"inject_time\": \"2024-01-01 " +
                                 "00:05:00\"}]}' > " + day + "/2024-01-01-fault_list.json && printf " +
                                 "'Timestamp,TimeUnixNano,PodName,Log\\nx,soon,pod-a-b,hi\\n' | gzip > " + day +
                                 "/log/00_05_log.csv.gz 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  out = testing::run_command(script + dir + "/bad " + dir + "/bad-copy --logs-around-faults 60,180 2>&1", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("00_05_log.csv.gz: line 2: TimeUnixNano 'soon' is not an integer"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad-copy")) << out;
  std::filesystem::remove_all(dir);
}

TEST(EvalCli, ZeroLabelWithUntracedServices) {
  if (!testing::exists(rslicer_bin())) GTEST_SKIP() << "rslicer binary not built";
  const std::string dir = testing::make_temp_dir("rslicer-eval-untraced");
  int rc = -1;
  std::string out = simulate(dir, &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string script = drop_services_script();
  out = testing::run_command(script + dir + "/data " + dir + "/half --every 2 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  // "removed K services (S spans): a, b, ..."
  const auto colon = out.find("): ");
  ASSERT_EQ(out.rfind("removed ", 0), 0u) << out;
  ASSERT_NE(colon, std::string::npos) << out;
  const std::string first = out.substr(colon + 3, out.find_first_of(",\n", colon + 3) - colon - 3);
  ASSERT_FALSE(first.empty()) << out;
  auto spans_of = [&](const std::string& data) {
    return testing::run_command("find " + data + " -name '*_trace.csv.gz' -exec zcat {} + | grep -c ',"
                                + first + "-' || true");
  };
  EXPECT_GT(std::stoi(spans_of(dir + "/data")), 0) << first;
  EXPECT_EQ(std::stoi(spans_of(dir + "/half")), 0) << first << " still has spans in the copy";
  const auto lines = [&](const std::string& data) {
    return std::stol(testing::run_command("find " + data + " -name '*_trace.csv.gz' -exec zcat {} + | wc -l"));
  };
  EXPECT_GT(lines(dir + "/half"), 0) << "the other services' spans stay";
  EXPECT_LT(lines(dir + "/half"), lines(dir + "/data"));
  out = testing::run_command(rslicer_bin() + " -q eval --data " + dir + "/half --out " + dir +
                                 "/zl --split zero-label --methods event_rules 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream in(dir + "/zl/metrics.json");
  ASSERT_TRUE(in);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["cases"]["test"].get<int>(), 6) << "every fault is still scored, metrics carry the untraced pods";
  // features.events.min_window_samples = -1 (default) measures the window call edges: with every trace a call
  // time needs 3 calls in a window (chose 0); with one trace in ten (head sampling) most edges hold fewer, and
  // single calls count (chose 1). The run says so and metrics.json keeps it.
  out = testing::run_command(script + dir + "/data " + dir + "/sampled --trace-share 0.1 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  for (const std::string copy : {"data", "sampled"}) {
    out = testing::run_command(rslicer_bin() + " eval --data " + dir + "/" + copy + " --out " + dir + "/zl-" + copy +
                                   " --split zero-label --methods event_rules 2>&1",
                               &rc);
    ASSERT_EQ(rc, 0) << out;
    const bool sampled = copy == "sampled";
    const std::string said = sampled ? "call times are scored from single calls (features.events.min_window_samples "
                                       "-1 chose 1)"
                                     : "a call time needs 3 calls in a window (features.events.min_window_samples -1 "
                                       "chose 0)";
    EXPECT_NE(out.find(said), std::string::npos) << out;
    std::ifstream in_copy(dir + "/zl-" + copy + "/metrics.json");
    ASSERT_TRUE(in_copy);
    const auto edges = nlohmann::json::parse(in_copy)["config"]["call_edges"];
    EXPECT_GT(edges["window_rows"].get<double>(), 0) << edges;
    EXPECT_EQ(edges["short_share"].get<double>() >= 1.0 / 3.0, sampled) << edges;
    EXPECT_EQ(edges["min_window_samples"].get<int>(), sampled ? 1 : 0) << edges;
  }
  // a value that does not fit the data (given, or a model's) is kept, and the run says what the data looks like
  out = testing::run_command(rslicer_bin() + " eval --data " + dir + "/sampled --out " + dir +
                                 "/zl-forced --split zero-label --methods event_rules"
                                 " --set features.events.min_window_samples=0 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("sampled or low-rate traces, but features.events.min_window_samples is 0"), std::string::npos)
      << out;
  // an existing output folder is refused, not overwritten
  out = testing::run_command(script + dir + "/data " + dir + "/half --every 2 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("exists"), std::string::npos) << out;
  // a trace file it cannot read is named with its line, not skipped
  testing::write_gzip_file(dir + "/bad/trace/00_00_trace.csv.gz", "TraceID,SpanID\nt1,s1\n");
  out = testing::run_command(script + dir + "/bad " + dir + "/bad-out --every 2 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("00_00_trace.csv.gz: line 1: no PodName column"), std::string::npos) << out;
  testing::write_gzip_file(dir + "/short/trace/00_00_trace.csv.gz", "TraceID,SpanID,PodName\nt1,s1\n");
  out = testing::run_command(script + dir + "/short " + dir + "/short-out --every 2 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("00_00_trace.csv.gz: line 2: 2 fields"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
