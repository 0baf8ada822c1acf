// Simulator: config, topology, determinism, counts, trace and log structure,
// fault schedule, the streaming source, and that metrics follow the traffic.
#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "core/errors.h"
#include "core/strings.h"
#include "sim/faults.h"
#include "sim/sim_source.h"
#include "sim/topology.h"

namespace rslicer::sim {
namespace {

SimConfig small_config(std::uint64_t seed = 7) {
  SimConfig c;
  c.services = 10;
  c.hours = 1.0;
  c.faults = 2;
  c.fault_gap_s = 600;
  c.seed = seed;
  c.threads = 2;
  return c;
}

const SimResult& shared_small() {
  static const SimResult r = simulate(small_config());
  return r;
}

// ---------------------------------------------------------------- config

TEST(SimConfigTest, DefaultsAreValidAndRoundTripThroughJson) {
  SimConfig c;
  EXPECT_NO_THROW(validate(c));
  EXPECT_EQ(c.fault_types.size(), 8u);
  const SimConfig back = parse_sim_config(sim_config_to_json(c));
  EXPECT_EQ(back.services, c.services);
  EXPECT_EQ(back.start, c.start);
  EXPECT_EQ(back.fault_types, c.fault_types);
  EXPECT_DOUBLE_EQ(back.trace_sample_rate, c.trace_sample_rate);
}

TEST(SimConfigTest, ParsesKnownKeysAndIsoStart) {
  const SimConfig c = parse_sim_config(
      R"({"services": 20, "hours": 3.5, "seed": 9, "start": "2024-03-01T12:00:00Z",
          "fault_types": ["cpu_contention", "pod_kill"], "trace_sample_rate": 0.5})");
  EXPECT_EQ(c.services, 20);
  EXPECT_DOUBLE_EQ(c.hours, 3.5);
  EXPECT_EQ(c.seed, 9u);
  EXPECT_EQ(format_time(c.start), "2024-03-01T12:00:00Z");
  EXPECT_EQ(c.fault_types, (std::vector<std::string>{"cpu_contention", "pod_kill"}));
  EXPECT_DOUBLE_EQ(c.trace_sample_rate, 0.5);
  EXPECT_EQ(parse_sim_config(R"({"start": 1704067200})").start, 1704067200LL * kUsPerSecond);
}

TEST(SimConfigTest, UnknownKeyWrongTypeAndBadValuesAreNamed) {
  try {
    parse_sim_config(R"({"services": 5, "sevrices": 6})", "my.json");
    FAIL() << "unknown key accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("my.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'sevrices'"), std::string::npos);
  }
  EXPECT_THROW(parse_sim_config(R"({"services": "ten"})"), InvalidInput);
  EXPECT_THROW(parse_sim_config(R"({"services": 2.5})"), InvalidInput);
  EXPECT_THROW(parse_sim_config(R"({"seed": -1})"), InvalidInput);
  EXPECT_THROW(parse_sim_config(R"([1, 2])"), InvalidInput);
  EXPECT_THROW(parse_sim_config(R"({"services": )"), InvalidInput);
  try {
    parse_sim_config(R"({"fault_types": ["cpu", "exception"]})");
    FAIL() << "unknown fault type accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'cpu'"), std::string::npos);
  }
  try {  // a lone name where a list is wanted: the message spells the list as --set takes it
    parse_sim_config(R"({"fault_services": "mysql"})");
    FAIL() << "a string accepted as a list";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(R"(--set 'fault_services=["mysql"]')"), std::string::npos) << e.what();
  }
  SimConfig c;
  c.services = 2;
  EXPECT_THROW(validate(c), InvalidInput);
  c = SimConfig{};
  c.trace_sample_rate = 1.5;
  EXPECT_THROW(validate(c), InvalidInput);
  EXPECT_THROW(load_sim_config("/nonexistent/sim.json"), IoError);
}

TEST(SimConfigTest, FaultsThatDoNotFitAreRejected) {
  SimConfig c = small_config();
  c.hours = 0.5;
  c.faults = 5;  // 5 x (300 + 600) + 600 s > 1800 s
  try {
    Simulator sim(c);
    FAIL() << "infeasible schedule accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("hours"), std::string::npos);
  }
  c = small_config();
  c.fault_services = {"no-such-service"};
  EXPECT_THROW(Simulator{c}, InvalidInput);
}

// ---------------------------------------------------------------- topology

TEST(SimTopologyTest, NamesParseAndCallGraphIsALayeredDag) {
  for (int services : {3, 4, 12, 50, 70}) {
    SimConfig c;
    c.services = services;
    c.faults = 0;
    Simulator sim(c);
    const Topology& t = sim.topology();
    ASSERT_EQ(static_cast<int>(t.services.size()), services);
    EXPECT_EQ(t.services[t.gateway].kind, ServiceKind::kGateway);
    EXPECT_FALSE(t.entry_endpoints.empty());
    std::set<std::string> pod_names;
    for (const auto& p : t.pods) {
      EXPECT_TRUE(pod_names.insert(p.name).second) << p.name;
      // the name carries its service the way real Kubernetes names do
      EXPECT_EQ(service_of_pod(p.name), t.services[p.service].name) << p.name;
      ASSERT_GE(p.node, 0);
      EXPECT_EQ(sim.catalog().entity_info[p.entity].node, t.nodes[p.node].entity);
      EXPECT_EQ(sim.catalog().service_of(p.entity), t.services[p.service].entity);
    }
    std::vector<double> service_rate(t.services.size(), 0);
    for (const auto& e : t.endpoints) service_rate[e.service] += e.unit_rate;
    for (size_t si = 0; si < t.services.size(); ++si) {
      EXPECT_GE(t.services[si].pods.size(), 1u) << t.services[si].name;
      EXPECT_GT(service_rate[si], 0) << t.services[si].name << " gets no traffic";
    }
    for (const auto& e : t.endpoints) {
      // every application endpoint gets traffic, and calls only go to deeper layers
      if (t.traced(e.service)) {
        EXPECT_GT(e.unit_rate, 0) << e.route << " of " << t.services[e.service].name;
      }
      for (const auto& call : e.calls)
        EXPECT_GT(t.services[t.endpoints[call.endpoint].service].layer, t.services[e.service].layer);
    }
    EXPECT_EQ(t.kpis.size(), static_cast<size_t>(kNumKpis));
  }
}

// ---------------------------------------------------------------- determinism

void expect_same(const SimResult& a, const SimResult& b) {
  ASSERT_EQ(a.data.metrics.size(), b.data.metrics.size());
  ASSERT_EQ(a.data.spans.size(), b.data.spans.size());
  ASSERT_EQ(a.data.logs.size(), b.data.logs.size());
  ASSERT_EQ(a.data.faults.size(), b.data.faults.size());
  EXPECT_EQ(a.catalog.entities.names(), b.catalog.entities.names());
  EXPECT_EQ(a.catalog.operations.names(), b.catalog.operations.names());
  for (size_t i = 0; i < a.data.metrics.size(); ++i) {
    const auto &x = a.data.metrics[i], &y = b.data.metrics[i];
    ASSERT_TRUE(x.time == y.time && x.entity == y.entity && x.kpi == y.kpi && x.value == y.value) << "metric " << i;
  }
  for (size_t i = 0; i < a.data.spans.size(); ++i) {
    const auto &x = a.data.spans[i], &y = b.data.spans[i];
    ASSERT_TRUE(x.start == y.start && x.duration_us == y.duration_us && x.entity == y.entity &&
                x.operation == y.operation && x.trace_id == y.trace_id && x.span_id == y.span_id &&
                x.parent_id == y.parent_id && x.status_code == y.status_code && x.error == y.error)
        << "span " << i;
  }
  for (size_t i = 0; i < a.data.logs.size(); ++i) {
    const auto &x = a.data.logs[i], &y = b.data.logs[i];
    ASSERT_TRUE(x.time == y.time && x.entity == y.entity && x.trace_id == y.trace_id && x.span_id == y.span_id &&
                x.level == y.level && x.message == y.message)
        << "log " << i;
  }
  for (size_t i = 0; i < a.data.faults.size(); ++i) {
    EXPECT_EQ(a.data.faults[i].start, b.data.faults[i].start);
    EXPECT_EQ(a.data.faults[i].root_cause, b.data.faults[i].root_cause);
    EXPECT_EQ(a.data.faults[i].fault_type, b.data.faults[i].fault_type);
  }
}

TEST(SimDeterminismTest, SameSeedSameRecordsWhateverTheThreadCount) {
  SimConfig c = small_config();
  c.hours = 2.2;  // three chunks, the last one partial
  c.threads = 1;
  const SimResult a = simulate(c);
  c.threads = 3;
  const SimResult b = simulate(c);
  ASSERT_GT(a.data.spans.size(), 1000u);
  expect_same(a, b);
}

TEST(SimDeterminismTest, DifferentSeedDifferentRecords) {
  const SimResult& a = shared_small();
  const SimResult b = simulate(small_config(8));
  bool differs = a.data.spans.size() != b.data.spans.size() || a.data.metrics.size() != b.data.metrics.size() ||
                 a.catalog.entities.names() != b.catalog.entities.names();
  for (size_t i = 0; !differs && i < std::min(a.data.metrics.size(), b.data.metrics.size()); ++i)
    differs = a.data.metrics[i].value != b.data.metrics[i].value;
  EXPECT_TRUE(differs);
  EXPECT_NE(a.data.spans.front().trace_id, b.data.spans.front().trace_id);
}

// ---------------------------------------------------------------- counts

TEST(SimCountsTest, CountsMatchTheRecords) {
  const SimResult& r = shared_small();
  const SimCounts& c = r.counts;
  EXPECT_EQ(r.data.catalog, &r.catalog);
  EXPECT_EQ(c.metric_points, static_cast<std::int64_t>(r.data.metrics.size()));
  EXPECT_EQ(c.spans, static_cast<std::int64_t>(r.data.spans.size()));
  EXPECT_EQ(c.log_records, static_cast<std::int64_t>(r.data.logs.size()));
  EXPECT_EQ(c.faults, static_cast<std::int64_t>(r.data.faults.size()));
  std::set<std::string> trace_ids;
  std::int64_t roots = 0, errors = 0;
  for (const auto& s : r.data.spans) {
    trace_ids.insert(s.trace_id);
    roots += s.parent_id.empty();
    errors += s.error;
  }
  EXPECT_EQ(c.traces, roots);
  EXPECT_EQ(c.traces, static_cast<std::int64_t>(trace_ids.size()));
  EXPECT_EQ(c.error_spans, errors);
  std::set<std::pair<TimeUs, Id>> rows;
  for (const auto& m : r.data.metrics) rows.insert({m.time, m.entity});
  EXPECT_EQ(c.metric_rows, static_cast<std::int64_t>(rows.size()));
  std::int64_t by_level = 0, by_type = 0;
  for (const auto& [k, v] : c.logs_by_level) by_level += v;
  for (const auto& [k, v] : c.faults_by_type) by_type += v;
  EXPECT_EQ(by_level, c.log_records);
  EXPECT_EQ(by_type, c.faults);
  EXPECT_EQ(c.pods, static_cast<int>(r.catalog.entities.size()) - c.services - c.nodes);
  // one row per pod and minute, except pods that are killed
  EXPECT_LE(c.metric_rows, static_cast<std::int64_t>(c.pods) * 60);
  EXPECT_GE(c.metric_rows, static_cast<std::int64_t>(c.pods) * 60 - 5);
  // every record lies in [start, end) (spans may outlast the end by their duration)
  const TimeUs t0 = small_config().start, t1 = t0 + 3600 * kUsPerSecond;
  for (const auto& m : r.data.metrics) ASSERT_TRUE(m.time >= t0 && m.time < t1 && std::isfinite(m.value));
  for (const auto& s : r.data.spans) ASSERT_TRUE(s.start >= t0 && s.start < t1 + 10 * kUsPerSecond);
  // each modality is sorted by time
  for (size_t i = 1; i < r.data.spans.size(); ++i) ASSERT_LE(r.data.spans[i - 1].start, r.data.spans[i].start);
  for (size_t i = 1; i < r.data.logs.size(); ++i) ASSERT_LE(r.data.logs[i - 1].time, r.data.logs[i].time);
  for (size_t i = 1; i < r.data.metrics.size(); ++i) ASSERT_LE(r.data.metrics[i - 1].time, r.data.metrics[i].time);
}

// ---------------------------------------------------------------- structure

TEST(SimTraceTest, SpansHaveValidParentsAndChildrenNestInParents) {
  const SimResult& r = shared_small();
  std::unordered_map<std::string, const Span*> by_id;
  for (const auto& s : r.data.spans) ASSERT_TRUE(by_id.emplace(s.span_id, &s).second) << "duplicate " << s.span_id;
  std::map<std::string, int> roots;
  for (const auto& s : r.data.spans) {
    ASSERT_GT(s.duration_us, 0);
    ASSERT_LT(s.entity, r.catalog.entities.size());
    ASSERT_LT(s.operation, r.catalog.operations.size());
    EXPECT_EQ(s.trace_id.size(), 32u);
    EXPECT_EQ(s.span_id.size(), 16u);
    EXPECT_EQ(s.error, s.status_code >= 500) << s.status_code;
    if (s.parent_id.empty()) {
      ++roots[s.trace_id];
      continue;
    }
    auto it = by_id.find(s.parent_id);
    ASSERT_NE(it, by_id.end()) << "missing parent " << s.parent_id;
    const Span& p = *it->second;
    EXPECT_EQ(p.trace_id, s.trace_id);
    ASSERT_GE(s.start, p.start) << r.catalog.operations.name(s.operation) << " under "
                                << r.catalog.operations.name(p.operation);
    ASSERT_LE(s.start + s.duration_us, p.start + p.duration_us)
        << r.catalog.operations.name(s.operation) << " under " << r.catalog.operations.name(p.operation);
  }
  for (const auto& [t, n] : roots) EXPECT_EQ(n, 1) << t;
  // traces fan out over several services
  double spans_per_trace = static_cast<double>(r.data.spans.size()) / static_cast<double>(roots.size());
  EXPECT_GT(spans_per_trace, 8);
}

TEST(SimLogTest, RequestLogsPointAtTheirSpansAndFitInThem) {
  const SimResult& r = shared_small();
  std::unordered_map<std::string, const Span*> by_id;
  for (const auto& s : r.data.spans) by_id.emplace(s.span_id, &s);
  std::int64_t tied = 0, background = 0;
  std::set<std::string> distinct;
  for (const auto& l : r.data.logs) {
    ASSERT_NE(l.level, LogLevel::kUnknown);
    ASSERT_FALSE(l.message.empty());
    distinct.insert(l.message);
    if (l.span_id.empty()) {
      EXPECT_TRUE(l.trace_id.empty());
      ++background;
      continue;
    }
    ++tied;
    auto it = by_id.find(l.span_id);
    ASSERT_NE(it, by_id.end()) << l.message;
    EXPECT_EQ(it->second->trace_id, l.trace_id);
    EXPECT_EQ(it->second->entity, l.entity) << "a log line comes from the pod that served the span";
    EXPECT_GE(l.time, it->second->start);
    EXPECT_LE(l.time, it->second->start + it->second->duration_us);
  }
  EXPECT_GT(tied, 10 * background);
  EXPECT_GT(background, 0);
  // variable parts make most lines unique
  EXPECT_GT(distinct.size(), r.data.logs.size() / 2);
  EXPECT_GT(r.counts.logs_by_level.at("INFO"), r.counts.logs_by_level.at("WARN"));
}

TEST(SimFaultTest, FaultsAreLabelledSpacedAndCoverTheTypes) {
  SimConfig c;
  c.services = 12;
  c.hours = 3;
  c.faults = 8;
  c.fault_duration_s = 300;
  c.fault_gap_s = 600;
  Simulator sim(c);
  const auto& faults = sim.faults();
  ASSERT_EQ(faults.size(), 8u);
  std::set<std::string> types;
  for (size_t i = 0; i < faults.size(); ++i) {
    const auto& f = faults[i];
    types.insert(f.fault_type);
    EXPECT_EQ(f.level, "pod");
    EXPECT_EQ(f.end - f.start, 300 * kUsPerSecond);
    EXPECT_EQ(f.start % kUsPerSecond, 0);
    const Id e = sim.catalog().entities.find(f.root_cause);
    ASSERT_NE(e, kNoId) << f.root_cause;
    EXPECT_EQ(sim.catalog().entity_info[e].kind, EntityKind::kPod);
    EXPECT_NE(sim.catalog().service_of(e), sim.topology().services[sim.topology().gateway].entity);
    if (i == 0) {
      EXPECT_GE(f.start, c.start + 600 * kUsPerSecond);
    } else {
      EXPECT_GE(f.start, faults[i - 1].end + 600 * kUsPerSecond) << "faults overlap or are too close";
    }
    EXPECT_LE(f.end, sim.end_time());
  }
  EXPECT_EQ(types.size(), 8u) << "eight faults of eight types: one of each";
}

TEST(SimSourceTest, StreamingSourceYieldsTheSameRecordsInTimeOrder) {
  SimConfig c = small_config();
  c.hours = 1.5;
  const SimResult r = simulate(c);
  auto src = open_simulation(c);
  EXPECT_EQ(src->format(), "sim");
  EXPECT_EQ(src->faults().size(), r.data.faults.size());
  EXPECT_EQ(src->catalog().entities.names(), r.catalog.entities.names());
  auto stream = src->open();
  Record rec;
  TimeUs last = INT64_MIN;
  std::int64_t n = 0;
  std::vector<Span> spans;
  while (stream->next(rec)) {
    ASSERT_GE(record_time(rec), last);
    last = record_time(rec);
    ++n;
    if (auto* s = std::get_if<Span>(&rec)) spans.push_back(*s);
  }
  EXPECT_EQ(n, r.counts.metric_points + r.counts.spans + r.counts.log_records);
  EXPECT_EQ(src->counts().metric_points, r.counts.metric_points);
  EXPECT_EQ(src->counts().spans, r.counts.spans);
  EXPECT_EQ(src->counts().log_records, r.counts.log_records);
  EXPECT_EQ(src->counts().metric_rows, r.counts.metric_rows);
  ASSERT_EQ(spans.size(), r.data.spans.size());
  for (size_t i = 0; i < spans.size(); ++i) ASSERT_EQ(spans[i].span_id, r.data.spans[i].span_id);
}

// ---------------------------------------------------------------- traffic

TEST(SimTrafficTest, MetricsFollowTheTrafficThatTracesSample) {
  SimConfig c = small_config();
  c.faults = 0;
  c.trace_sample_rate = 0.1;
  c.hours = 2;
  const SimResult r = simulate(c);
  Simulator sim(c);
  const auto& topo = sim.topology();
  const Id workload = r.catalog.kpis.find("PodWorkload(Ops)");
  std::set<Id> gateway_pods;
  for (std::int32_t p : topo.services[topo.gateway].pods) gateway_pods.insert(topo.pods[p].entity);
  double requests = 0;
  for (const auto& m : r.data.metrics)
    if (m.kpi == workload && gateway_pods.count(m.entity)) requests += m.value * c.metric_interval_s;
  // sampled traces = requests at the gateway x sample rate
  const double expected = requests * c.trace_sample_rate;
  EXPECT_NEAR(static_cast<double>(r.counts.traces), expected, 0.05 * expected);
  // and the simulated rate follows the configured one (2 h around midnight: below the mean)
  EXPECT_GT(requests / (2 * 3600), 0.3 * c.requests_per_s);
  EXPECT_LT(requests / (2 * 3600), 1.0 * c.requests_per_s);
}

TEST(SimTrafficTest, DailyCycleShowsInTheRequestRate) {
  SimConfig c;
  c.services = 5;
  c.hours = 24;
  c.faults = 0;
  c.trace_sample_rate = 0;  // metrics only
  const SimResult r = simulate(c);
  EXPECT_EQ(r.counts.spans, 0);
  const Id workload = r.catalog.kpis.find("PodWorkload(Ops)");
  std::map<int, double> by_hour;
  for (const auto& m : r.data.metrics)
    if (m.kpi == workload) by_hour[static_cast<int>((m.time - c.start) / (3600 * kUsPerSecond))] += m.value;
  // peak at 14:00 UTC, trough at 02:00
  EXPECT_GT(by_hour[14], 2.0 * by_hour[2]);
}

}  // namespace
}  // namespace rslicer::sim
