// rslicer detect through the facade, on simulated data: a model trained on a
// fault-free run finds the faults injected into a later run of the same
// system, ranks their root causes with evidence naming the injected signal,
// never reads the labels, and survives a round trip through the model folder;
// incidents.json has the documented schema and incidents.html renders.
#include "api/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "api/online.h"
#include "api/simulate.h"
#include "core/errors.h"
#include "simulated_model.h"
#include "test_util.h"

namespace rslicer {
namespace {

// A source that hides the labels of another.
class Unlabelled : public TelemetrySource {
 public:
  explicit Unlabelled(std::unique_ptr<TelemetrySource> inner) : inner_(std::move(inner)) {}
  std::string format() const override { return inner_->format(); }
  std::vector<FaultEvent> faults() override { return {}; }
  std::unique_ptr<RecordStream> open() override {
    auto s = inner_->open();
    catalog_ = inner_->catalog();
    return std::make_unique<Forward>(std::move(s), *inner_, *this);
  }

 private:
  // Forwards records and keeps this source's catalog and counters in step with the inner one's.
  class Forward : public RecordStream {
   public:
    Forward(std::unique_ptr<RecordStream> s, TelemetrySource& in, Unlabelled& out) : s_(std::move(s)), in_(in), out_(out) {}
    bool next(Record& r) override {
      const bool ok = s_->next(r);
      const Catalog& c = in_.catalog();
      Catalog& o = out_.catalog();
      if (c.entities.size() != o.entities.size() || c.kpis.size() != o.kpis.size() ||
          c.operations.size() != o.operations.size())
        o = c;
      if (!ok) {
        out_.stats() = in_.stats();
        out_.counts() = in_.counts();
      }
      return ok;
    }

   private:
    std::unique_ptr<RecordStream> s_;
    TelemetrySource& in_;
    Unlabelled& out_;
  };
  std::unique_ptr<TelemetrySource> inner_;
};

using World = testing::SimulatedModel;

// The README's system: 6 fault-free hours of 8 services, then the same hours of the next day with 4 faults.
std::pair<sim::SimConfig, sim::SimConfig> quick_start_system() {
  auto system = testing::normal_and_next_day(8, 6, 11, 6, {"exception", "return", "network_delay", "cpu_contention"});
  system.second.fault_services = {"order-service", "user-service", "payment-service", "cart-service"};
  return system;
}

// Trains once for every test of this file on quick_start_system().
const World& world() {
  static const World w = [] {
    const auto [normal, faulty] = quick_start_system();
    World w = testing::train_simulated_model("rslicer-detect", normal, faulty, "nezha");
    EXPECT_EQ(w.summary.labelled_cases, 0u);  // a fault-free run: label-free heads
    return w;
  }();
  return w;
}

// Back-to-back faults whose alarms never pause: a run splits where another entity tops the ranking of k
// consecutive slices, so each fault gets an incident ranked at its own onset.
TEST(Incidents, AnotherRootCauseTakingOverSplitsARun) {
  const Id a = 1, b = 2;
  EXPECT_EQ(root_cause_takeover({a, a, b, b}, 2), 2u);
  EXPECT_EQ(root_cause_takeover({a, b, b}, 2), 1u);
  EXPECT_EQ(root_cause_takeover({a, a, a, b, b, b}, 3), 3u);
  EXPECT_EQ(root_cause_takeover({kNoId, a, b, b}, 2), 2u) << "the leader is the first slice with a top entity";
  // no takeover: returns the size
  EXPECT_EQ(root_cause_takeover({a, a, b}, 2), 3u) << "one slice of another top is not enough";
  EXPECT_EQ(root_cause_takeover({a, b, a, b}, 2), 4u) << "the last k must agree";
  EXPECT_EQ(root_cause_takeover({a, b, b}, 3), 3u) << "nothing left before them";
  EXPECT_EQ(root_cause_takeover({a, a, a}, 2), 3u) << "the leader itself";
  EXPECT_EQ(root_cause_takeover({kNoId, b, b}, 2), 3u) << "no leader yet";
  EXPECT_EQ(root_cause_takeover({a, kNoId, kNoId}, 2), 3u) << "no entity signal takes nothing over";
  EXPECT_EQ(root_cause_takeover({a, b, b}, 0), 3u);
  DetectOptions o;
  EXPECT_EQ(takeover_slices(o), 2u);
  o.min_incident_slices = 1;
  EXPECT_EQ(takeover_slices(o), 2u) << "at least 2, so a single slice never splits an incident";
  o.min_incident_slices = 4;
  EXPECT_EQ(takeover_slices(o), 4u);
}

TEST(Detect, SimulatedFaultsAreFoundWithTheirRootCauseAndEvidence) {
  const World& w = world();
  auto p = Pipeline::load(w.model);
  DetectResult r = p->detect(w.dir + "/faulty", "auto", {}, {}, false);
  ASSERT_EQ(r.labels.size(), 4u);  // shown beside the incidents, never used
  ASSERT_FALSE(r.incidents.empty());
  // what evidence names the injected signal of each fault type
  auto names_signal = [](const std::string& type, const std::vector<std::string>& evidence) {
    for (const auto& e : evidence) {
      if (type == "exception" && (e.find("log step") != std::string::npos || e.find("end early") != std::string::npos ||
                                  e.find("ERROR") != std::string::npos))
        return true;
      if (type == "return" && e.find("ERROR") != std::string::npos) return true;
      if (type == "network_delay" && (e.find("lag") != std::string::npos || e.find("waits") != std::string::npos))
        return true;
      if (type == "cpu_contention" && (e.find("Cpu") != std::string::npos || e.find("lag") != std::string::npos ||
                                       e.find("own time") != std::string::npos))
        return true;
    }
    return false;
  };
  int covered = 0, top3 = 0, explained = 0;
  for (const auto& f : w.faults) {
    for (const auto& inc : r.incidents) {
      if (!(inc.start < f.end + 120 * kUsPerSecond && inc.end > f.start)) continue;
      ++covered;
      for (size_t k = 0; k < inc.root_causes.size() && k < 3; ++k)
        if (inc.root_causes[k].entity == f.root_cause) {
          ++top3;
          explained += names_signal(f.fault_type, inc.root_causes[k].evidence);
          break;
        }
      break;
    }
  }
  EXPECT_GE(covered, 3) << "faults covered by an incident";
  EXPECT_GE(top3, 3) << "root cause in the top 3";
  EXPECT_GE(explained, 3) << "evidence naming the injected signal";
  // few false incidents
  EXPECT_LE(r.incidents.size(), 6u);
}

// The same system with its logs alone (its metric and trace folders removed before training and detecting). The
// event AD score is a rank surprise with a ceiling, and its normal training slices are mostly 0: SPOT's tail once
// put the threshold beyond anything a slice can reach, so nothing alarmed. Now the return and the exception,
// which these logs show (ERROR lines), raise incidents with their pod first, the heads saying why their threshold
// is the largest calibration score, and without metrics there is no KPI part. The AD score is the event part
// alone (heads.ad_score=events), the part this is about: with the default the kNN's part joins it, and what this
// 3-epoch model's kNN adds decides whether an incident forms (on the modality encodings it alarmed on the return
// twice, 6 minutes apart, and on no slice of the exception: no incident; docs/results.md, "The AD kNN reads the
// encodings").
TEST(Detect, LogsAloneStillAlarmOnTheFaultsTheyShow) {
  namespace fs = std::filesystem;
  const std::string dir = testing::make_temp_dir("rslicer-logs-only");
  const auto [normal, faulty] = quick_start_system();
  simulate_dataset(normal, dir + "/normal", "nezha", true, false);
  const auto faults = simulate_dataset(faulty, dir + "/faulty", "nezha", true, false).faults;
  for (const char* run : {"/normal", "/faulty"})
    for (const auto& day : fs::directory_iterator(dir + run + "/rca_data"))
      for (const char* modality : {"metric", "trace"}) fs::remove_all(day.path() / modality);
  TrainRequest t;
  t.data_path = dir + "/normal";
  t.out_dir = dir + "/model";
  t.config.max_epochs = 3;
  t.config.max_minutes = 0;
  t.config.heads.ad_score = "events";
  t.progress = false;
  const TrainSummary summary = train_model(t);
  EXPECT_EQ(summary.heads_info.value("ad_score", std::string()), "events");
  EXPECT_NE(summary.heads_info.value("kpi_note", std::string()).find("no calibration slice holds a KPI deviation"),
            std::string::npos)
      << summary.heads_info.dump();
  auto p = Pipeline::load(dir + "/model");
  const DetectResult r = p->detect(dir + "/faulty", "auto", {}, {}, false);
  ASSERT_FALSE(r.incidents.empty()) << "logs alone raised nothing";
  int found = 0;
  for (const auto& f : faults) {
    if (f.fault_type != "exception" && f.fault_type != "return") continue;
    for (const auto& inc : r.incidents)
      if (inc.start < f.end + 120 * kUsPerSecond && inc.end > f.start && !inc.root_causes.empty() &&
          inc.root_causes[0].entity == f.root_cause)
        ++found;
  }
  EXPECT_GE(found, 1) << "an exception or return found, its pod first";
}

// An hour of new data: ranked against its own rows alone, the most any slice could reach was the surprise of the
// largest of some 700 (slice, pod) values, 2.5, below the event score's threshold, fitted on six hours: the event
// signals could never alarm on a short file. The model keeps its training data's calibration rows, and detect ranks
// against those and the new data's own.
TEST(Detect, AnHourOfNewDataStillAlarmsOnTheEventSignals) {
  const World& w = world();
  const std::string dir = testing::make_temp_dir("rslicer-short");
  auto [normal, faulty] = quick_start_system();
  faulty.hours = 1;
  faulty.faults = 1;
  faulty.fault_types = {"return"};
  faulty.fault_services = {"cart-service"};
  const auto faults = simulate_dataset(faulty, dir + "/hour", "nezha", true, false).faults;
  ASSERT_EQ(faults.size(), 1u);
  auto p = Pipeline::load(w.model);
  ASSERT_NE(p->model().calibration(), nullptr) << "train keeps its calibration rows";
  const DetectResult r = p->detect(dir + "/hour", "auto", {}, {}, false);
  int by_events = 0;
  for (const auto& t : r.timeline) {
    const auto parts = ad_part_names(t.alarmed_by);
    if (std::find(parts.begin(), parts.end(), "event signals") == parts.end()) continue;
    ++by_events;
    EXPECT_TRUE(t.end > faults[0].start && t.start < faults[0].end + 300 * kUsPerSecond)
        << "the event signals alarm on the return, not beside it: " << t.start;
  }
  EXPECT_GE(by_events, 1) << "the event signals never alarmed on an hour of data";
}

TEST(Detect, LabelsAreNeverUsedAndTheModelFolderRoundTrips) {
  const World& w = world();
  auto p = Pipeline::load(w.model);
  DetectResult with = p->detect(w.dir + "/faulty", "auto", {}, {}, false);
  Unlabelled src(open_source(w.dir + "/faulty", "auto", {}));
  DetectResult without = p->detect(src, {}, false);
  EXPECT_TRUE(without.labels.empty());
  nlohmann::json a = to_json(with), b = to_json(without);
  a.erase("data");
  b.erase("data");
  EXPECT_EQ(a, b) << "the incidents must not depend on the labels";
  // a second load of the same folder gives the same result
  DetectResult again = Pipeline::load(w.model)->detect(w.dir + "/faulty", "auto", {}, {}, false);
  EXPECT_EQ(to_json(again), to_json(with));
  // a model folder without heads is refused with a clear error
  EXPECT_THROW(Pipeline::load(w.dir + "/nope"), std::exception);
}

// An SRE must see whether an incident was raised by localisable event signals or by the embedding alone.
TEST(Detect, EveryAlarmSaysWhichScoreRaisedIt) {
  const World& w = world();
  DetectResult r = Pipeline::load(w.model)->detect(w.dir + "/faulty", "auto", {}, {}, false);
  for (const auto& p : r.timeline) EXPECT_EQ(p.alarm, p.alarmed_by != 0) << p.start;
  ASSERT_FALSE(r.incidents.empty());
  const std::set<std::string> known = {"state embedding", "event signals", "entity head", "most extreme KPI"};
  for (const auto& inc : r.incidents) {
    ASSERT_FALSE(inc.alarmed_by.empty());
    int total = 0;
    for (const auto& [part, n] : inc.alarmed_by) {
      EXPECT_TRUE(known.count(part)) << part;
      EXPECT_GE(n, 1);
      EXPECT_LE(n, static_cast<int>(inc.slices.size()));
      int by_timeline = 0;  // the count is the timeline's
      for (size_t i : inc.slices) {
        const auto names = ad_part_names(r.timeline[i].alarmed_by);
        by_timeline += std::find(names.begin(), names.end(), part) != names.end();
      }
      EXPECT_EQ(n, by_timeline) << part;
      total += n;
    }
    EXPECT_GE(total, static_cast<int>(inc.slices.size())) << "every alarmed slice passed at least one threshold";
    nlohmann::json stored = to_json(inc);
    EXPECT_EQ(incident_from_json(stored).alarmed_by, inc.alarmed_by);
    stored.erase("alarmed_by");  // written by an older rslicer: read, nothing invented
    EXPECT_TRUE(incident_from_json(stored).alarmed_by.empty());
    stored["alarmed_by"] = {{"event signals", "four"}};  // a malformed count is refused, not read as 0
    EXPECT_THROW(incident_from_json(stored), InvalidInput);
    const std::string text = alarmed_by_text(inc);
    EXPECT_EQ(text.rfind("alarmed by the " + inc.alarmed_by[0].first + " (", 0), 0u) << text;
  }
}

// A fresh detect has no metric baselines: the first slices cannot be judged on their metrics, and an SRE must be
// told so instead of reading their quiet as health.
TEST(Detect, TheMetricWarmUpIsReported) {
  auto slice = [](std::int64_t minute, double ready) {
    FeatureSlice s;
    s.start = minute * kUsPerMinute;
    s.end = s.start + 3 * kUsPerMinute;
    if (ready < 0) return s;  // no metrics
    TokenSet& t = s.tokens[static_cast<int>(Modality::kMetrics)];
    t.dim = kMetricTokenDim;
    t.entities = {1};
    t.values.assign(kMetricTokenDim, 0.0f);
    t.values[2 * kKpiSlots + kMetricReadySummary] = static_cast<float>(ready);
    return s;
  };
  MetricWarmup w;
  w.min_points = 10;
  for (const auto& [minute, ready] : std::vector<std::pair<int, double>>{{0, -1}, {1, 0}, {2, 0.4}, {3, -1}})
    w.observe(slice(minute, ready));
  EXPECT_EQ(w.slices, 2) << "slices without metrics do not count";
  EXPECT_FALSE(w.done());
  EXPECT_NE(warmup_text(w).find("no slice was judged on its metrics"), std::string::npos) << warmup_text(w);
  w.observe(slice(4, 0.5));
  w.observe(slice(5, 0.0));  // a new pod's series later on: not the data's warm-up
  EXPECT_EQ(w.slices, 2);
  EXPECT_EQ(w.until, 4 * kUsPerMinute);
  EXPECT_EQ(warmup_text(w).rfind(
                "the first 2 slices (those starting before 1970-01-01T00:04:00Z) were not judged on their metrics", 0),
            0u)
      << warmup_text(w);
  EXPECT_EQ(warmup_text(MetricWarmup{}), "");
  // data whose first slice starts at Unix time 0 and is judged at once: the warm-up is over there
  MetricWarmup at_zero;
  at_zero.observe(slice(0, 0.9));
  at_zero.observe(slice(1, 0.0));
  EXPECT_TRUE(at_zero.done());
  EXPECT_EQ(at_zero.slices, 0);
  EXPECT_EQ(to_json(at_zero)["until"], 0);

  const World& w2 = world();
  for (bool online : {false, true}) {
    DetectResult r;
    if (online) {
      auto source = open_source(w2.dir + "/faulty", "auto", {});
      r = detect_online(*Pipeline::load(w2.model), *source, {}, false);
    } else {
      r = Pipeline::load(w2.model)->detect(w2.dir + "/faulty", "auto", {}, {}, false);
    }
    EXPECT_EQ(r.warmup.min_points, FeatureOptions{}.min_baseline);
    ASSERT_TRUE(r.warmup.done()) << "online " << online;
    EXPECT_GE(r.warmup.slices, 1);
    const auto before = std::count_if(r.timeline.begin(), r.timeline.end(),
                                      [&](const TimelinePoint& p) { return p.start < r.warmup.until; });
    EXPECT_EQ(before, r.warmup.slices) << "every simulated slice has metrics";
    const nlohmann::json j = to_json(r);
    EXPECT_EQ(j["metric_warmup"]["slices"].get<std::int64_t>(), r.warmup.slices);
    EXPECT_GT(j["metric_warmup"]["until"].get<double>(), 1.7e9);
    EXPECT_NE(render_incidents_html(r).find("Metric warm-up: the first "), std::string::npos);
  }
}

TEST(Detect, IncidentsJsonSchemaAndHtmlRendersInChromium) {
  const World& w = world();
  DetectResult r = Pipeline::load(w.model)->detect(w.dir + "/faulty", "auto", {}, {}, false);
  const nlohmann::json j = to_json(r);
  for (const char* k : {"model", "data", "slices", "timeline", "incidents"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["slices"].get<size_t>(), j["timeline"].size());
  for (const char* k : {"start", "end", "score", "threshold", "state", "alarm", "alarmed_by"})
    EXPECT_TRUE(j["timeline"][0].contains(k));
  ASSERT_FALSE(j["incidents"].empty());
  const auto& inc = j["incidents"][0];
  for (const char* k : {"start", "end", "peak_score", "state", "fault_type", "root_causes", "alarmed_by", "open"})
    EXPECT_TRUE(inc.contains(k));
  EXPECT_FALSE(inc["open"].get<bool>());  // offline, every incident is closed
  EXPECT_TRUE(inc["fault_type"].contains("label") && inc["fault_type"].contains("confidence"));
  EXPECT_TRUE(inc["root_causes"][0]["evidence"].is_array());
  EXPECT_LT(inc["start"].get<double>(), inc["end"].get<double>());
  EXPECT_GT(inc["start"].get<double>(), 1.7e9);  // Unix seconds
  const std::string html = render_incidents_html(r);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // self-contained
  const std::string out = testing::make_temp_dir("rslicer-detect-html");  // the model folder is shared by tests
  const std::string path = out + "/incidents.html";
  std::ofstream(path) << html;
  if (!testing::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed";
  EXPECT_GT(testing::chromium_screenshot_busy_fraction(path, out + "/incidents.png"), 0.005);
  const std::string dom = testing::chromium_dump_dom(path);
  EXPECT_NE(dom.find("RuntimeSlicer incidents"), std::string::npos);
  EXPECT_NE(dom.find("Incident 1"), std::string::npos);
  EXPECT_NE(dom.find("label in the data (not used)"), std::string::npos);
  EXPECT_NE(dom.find(r.incidents[0].root_causes[0].entity), std::string::npos);
}

}  // namespace
}  // namespace rslicer
