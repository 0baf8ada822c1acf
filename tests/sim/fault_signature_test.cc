// Each fault type leaves its own signature across metrics, traces and logs,
// and propagates to callers. One simulation per type: one fault, compared
// with the normal time before it.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <unordered_map>

#include "sim/faults.h"
#include "sim/simulator.h"
#include "sim/topology.h"

namespace rslicer::sim {
namespace {

struct Case {
  SimConfig config;
  std::unique_ptr<Simulator> sim;
  SimResult result;
  FaultEvent fault;
  Id target = kNoId;                        // the faulty pod
  std::set<Id> caller_pods;                 // pods of the services that call the target's service
  TimeUs before_start = 0, before_end = 0;  // normal window just before the fault
};

Case run_fault(const std::string& type, std::uint64_t seed = 11) {
  Case c;
  c.config.services = 10;
  c.config.hours = 1.0;
  c.config.faults = 1;
  c.config.fault_types = {type};
  c.config.fault_gap_s = 1200;  // twenty normal minutes before the fault
  c.config.trace_sample_rate = 0.25;
  c.config.seed = seed;
  c.sim = std::make_unique<Simulator>(c.config);
  c.result = simulate(c.config);
  c.fault = c.result.data.faults.at(0);
  c.target = c.result.catalog.entities.find(c.fault.root_cause);
  const Topology& t = c.sim->topology();
  std::int32_t svc = -1;
  for (const auto& p : t.pods)
    if (p.entity == c.target) svc = p.service;
  for (std::int32_t caller : t.services[svc].callers)
    for (std::int32_t p : t.services[caller].pods) c.caller_pods.insert(t.pods[p].entity);
  c.before_end = c.fault.start - 60 * kUsPerSecond;
  c.before_start = c.before_end - 10 * 60 * kUsPerSecond;
  return c;
}

// Mean of a KPI over pods in [t0, t1).
double mean_kpi(const Case& c, const std::set<Id>& pods, const std::string& kpi, TimeUs t0, TimeUs t1) {
  const Id k = c.result.catalog.kpis.find(kpi);
  double sum = 0;
  int n = 0;
  for (const auto& m : c.result.data.metrics)
    if (m.kpi == k && pods.count(m.entity) && m.time >= t0 && m.time < t1) {
      sum += m.value;
      ++n;
    }
  return n ? sum / n : 0;
}
double max_kpi(const Case& c, Id pod, const std::string& kpi, TimeUs t0, TimeUs t1) {
  const Id k = c.result.catalog.kpis.find(kpi);
  double best = 0;
  for (const auto& m : c.result.data.metrics)
    if (m.kpi == k && m.entity == pod && m.time >= t0 && m.time < t1) best = std::max(best, m.value);
  return best;
}
double before(const Case& c, const std::set<Id>& pods, const std::string& kpi) {
  return mean_kpi(c, pods, kpi, c.before_start, c.before_end);
}
double during(const Case& c, const std::set<Id>& pods, const std::string& kpi) {
  return mean_kpi(c, pods, kpi, c.fault.start, c.fault.end);
}

// Spans matching `pred` per minute in the window.
template <typename Pred>
double spans_per_min(const Case& c, TimeUs t0, TimeUs t1, Pred pred) {
  double n = 0;
  for (const auto& s : c.result.data.spans)
    if (s.start >= t0 && s.start < t1 && pred(s)) ++n;
  return n / (static_cast<double>(t1 - t0) / kUsPerMinute);
}
template <typename Pred>
double logs_per_min(const Case& c, TimeUs t0, TimeUs t1, Pred pred) {
  double n = 0;
  for (const auto& l : c.result.data.logs)
    if (l.time >= t0 && l.time < t1 && pred(l)) ++n;
  return n / (static_cast<double>(t1 - t0) / kUsPerMinute);
}
bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Mean duration of the callers' client spans that reach the target: those
// whose child server span runs on it, or, for an untraced back end (one pod),
// those whose operation is a call into its service.
double mean_call_to_target(const Case& c, TimeUs t0, TimeUs t1) {
  const Topology& t = c.sim->topology();
  std::int32_t svc = -1;
  for (const auto& p : t.pods)
    if (p.entity == c.target) svc = p.service;
  double sum = 0;
  int n = 0;
  if (t.traced(svc)) {
    std::unordered_map<std::string, const Span*> by_id;
    for (const auto& s : c.result.data.spans) by_id.emplace(s.span_id, &s);
    for (const auto& s : c.result.data.spans) {
      if (s.entity != c.target || s.parent_id.empty() || s.start < t0 || s.start >= t1) continue;
      const Span* parent = by_id.at(s.parent_id);
      if (parent->entity == c.target) continue;  // internal span
      sum += static_cast<double>(parent->duration_us);
      ++n;
    }
  } else {
    std::set<Id> ops;
    for (const auto& e : t.endpoints)
      for (const auto& call : e.calls)
        if (t.endpoints[call.endpoint].service == svc) ops.insert(call.client_operation);
    for (const auto& s : c.result.data.spans)
      if (ops.count(s.operation) && s.start >= t0 && s.start < t1) {
        sum += static_cast<double>(s.duration_us);
        ++n;
      }
  }
  return n ? sum / n : 0;
}
ServiceKind target_kind(const Case& c) {
  const Topology& t = c.sim->topology();
  for (const auto& p : t.pods)
    if (p.entity == c.target) return t.services[p.service].kind;
  return ServiceKind::kApp;
}

TEST(SimFaultSignatureTest, CpuContentionSaturatesTheTargetAndSlowsIt) {
  const Case c = run_fault("cpu_contention");
  const std::set<Id> target{c.target};
  EXPECT_GT(during(c, target, "CpuUsageRate(%)"), before(c, target, "CpuUsageRate(%)") + 40);
  EXPECT_GT(during(c, target, "CpuUsageRate(%)"), 65);
  EXPECT_GT(during(c, target, "NodeCpuUsageRate(%)"), before(c, target, "NodeCpuUsageRate(%)") + 2);
  // slower, and callers wait longer for it (own work slows ~3x; calls it makes do not)
  EXPECT_GT(during(c, target, "PodServerLatencyP90(s)"), 1.2 * before(c, target, "PodServerLatencyP90(s)"));
  EXPECT_GT(mean_call_to_target(c, c.fault.start, c.fault.end),
            1.2 * mean_call_to_target(c, c.before_start, c.before_end));
  // the slow pod says so (a request-slow warning, thread starvation, a slow-query log); a cache stays silent
  if (target_kind(c) != ServiceKind::kCache) {
    auto warn = [&](const LogRecord& l) { return l.entity == c.target && l.level == LogLevel::kWarn; };
    EXPECT_GT(logs_per_min(c, c.fault.start, c.fault.end, warn),
              logs_per_min(c, c.before_start, c.before_end, warn) + 0.5);
  }
}

TEST(SimFaultSignatureTest, MemoryLeakGrowsMemoryAndLogsGarbageCollection) {
  const Case c = run_fault("memory_leak");
  const double base = before(c, {c.target}, "MemoryUsage(Mi)");
  EXPECT_GT(max_kpi(c, c.target, "MemoryUsage(Mi)", c.fault.start, c.fault.end), 1.5 * base);
  EXPECT_GT(max_kpi(c, c.target, "MemoryUsageRate(%)", c.fault.start, c.fault.end),
            before(c, {c.target}, "MemoryUsageRate(%)") + 25);
  // back to normal after the fault
  EXPECT_LT(
      mean_kpi(c, {c.target}, "MemoryUsage(Mi)", c.fault.end + 120 * kUsPerSecond, c.fault.end + 600 * kUsPerSecond),
      1.2 * base);
  EXPECT_GT(logs_per_min(c, c.fault.start, c.fault.end,
                         [&](const LogRecord& l) { return l.entity == c.target && contains(l.message, "GC"); }),
            1.0);
  EXPECT_EQ(logs_per_min(c, c.before_start, c.before_end,
                         [&](const LogRecord& l) { return l.entity == c.target && contains(l.message, "GC"); }),
            0);
}

TEST(SimFaultSignatureTest, NetworkDelayLengthensCallsToTheTargetAndCallersLatency) {
  const Case c = run_fault("network_delay");
  // calls to the target take ~network_delay_ms longer, as the callers see them
  const double calls_before = mean_call_to_target(c, c.before_start, c.before_end);
  const double calls_during = mean_call_to_target(c, c.fault.start, c.fault.end);
  ASSERT_GT(calls_before, 0);
  EXPECT_GT(calls_during - calls_before, 0.7 * c.config.network_delay_ms * 1000);
  EXPECT_GT(during(c, c.caller_pods, "PodClientLatencyP90(s)"), 2 * before(c, c.caller_pods, "PodClientLatencyP90(s)"));
  EXPECT_GT(during(c, c.caller_pods, "PodServerLatencyP90(s)"),
            1.5 * before(c, c.caller_pods, "PodServerLatencyP90(s)"));
  // CPU does not explain it
  EXPECT_LT(during(c, {c.target}, "CpuUsageRate(%)"), 3 * before(c, {c.target}, "CpuUsageRate(%)"));
}

TEST(SimFaultSignatureTest, PacketLossCausesTimeoutsRetriesAndSlowCalls) {
  const Case c = run_fault("packet_loss");
  auto timeouts = [&](const Span& s) { return s.status_code == 504; };
  EXPECT_GT(spans_per_min(c, c.fault.start, c.fault.end, timeouts), 0.3);
  EXPECT_EQ(spans_per_min(c, c.before_start, c.before_end, timeouts), 0);
  auto retries = [&](const LogRecord& l) {
    return contains(l.message, "Retrying") || contains(l.message, "timed out");
  };
  EXPECT_GT(logs_per_min(c, c.fault.start, c.fault.end, retries), 0.3);
  EXPECT_GT(during(c, c.caller_pods, "PodClientLatencyP90(s)"), 2 * before(c, c.caller_pods, "PodClientLatencyP90(s)"));
}

TEST(SimFaultSignatureTest, ExceptionFailsTheTargetsSpansAndPropagatesToCallers) {
  const Case c = run_fault("exception");
  auto target_errors = [&](const Span& s) { return s.entity == c.target && s.error; };
  EXPECT_GT(spans_per_min(c, c.fault.start, c.fault.end, target_errors),
            10 * spans_per_min(c, c.before_start, c.before_end, target_errors) + 3);
  auto caller_errors = [&](const Span& s) { return c.caller_pods.count(s.entity) && s.error; };
  EXPECT_GT(spans_per_min(c, c.fault.start, c.fault.end, caller_errors),
            spans_per_min(c, c.before_start, c.before_end, caller_errors) + 1);
  auto exception_logs = [&](const LogRecord& l) {
    return l.entity == c.target && l.level == LogLevel::kError && contains(l.message, "Exception");
  };
  EXPECT_GT(logs_per_min(c, c.fault.start, c.fault.end, exception_logs), 1);
  EXPECT_EQ(logs_per_min(c, c.before_start, c.before_end, exception_logs), 0);
  EXPECT_LT(during(c, {c.target}, "PodSuccessRate(%)"), before(c, {c.target}, "PodSuccessRate(%)") - 20);
}

TEST(SimFaultSignatureTest, ReturnProducesErrorResponsesAndErrorLogs) {
  const Case c = run_fault("return");
  auto target_errors = [&](const Span& s) { return s.entity == c.target && s.error && s.status_code == 500; };
  EXPECT_GT(spans_per_min(c, c.fault.start, c.fault.end, target_errors), 3);
  auto error_logs = [&](const LogRecord& l) { return l.entity == c.target && l.level == LogLevel::kError; };
  EXPECT_GT(logs_per_min(c, c.fault.start, c.fault.end, error_logs),
            logs_per_min(c, c.before_start, c.before_end, error_logs) + 1);
  EXPECT_LT(during(c, {c.target}, "PodSuccessRate(%)"), before(c, {c.target}, "PodSuccessRate(%)") - 20);
  // unlike exception, the request does its whole work: latency does not drop
  EXPECT_GT(during(c, {c.target}, "PodServerLatencyP90(s)"), 0.6 * before(c, {c.target}, "PodServerLatencyP90(s)"));
}

TEST(SimFaultSignatureTest, PodKillRemovesThePodThenRestartsIt) {
  const Case c = run_fault("pod_kill");
  const Id cpu = c.result.catalog.kpis.find("CpuUsage(m)");
  std::set<TimeUs> rows;
  for (const auto& m : c.result.data.metrics)
    if (m.entity == c.target && m.kpi == cpu) rows.insert(m.time);
  const TimeUs minute = c.config.metric_interval_s * kUsPerSecond;
  int missing = 0;
  for (TimeUs t = c.config.start; t < c.sim->end_time(); t += minute) missing += rows.count(t) == 0;
  EXPECT_GE(missing, 1);
  EXPECT_LE(missing, 2);
  auto started = [&](const LogRecord& l) {
    return l.entity == c.target && (contains(l.message, "Started") || contains(l.message, "ready for connections") ||
                                    contains(l.message, "Ready to accept"));
  };
  EXPECT_GT(logs_per_min(c, c.fault.start, c.fault.end, started), 0);
  // no server span on the dead pod while it is down
  auto on_target = [&](const Span& s) { return s.entity == c.target; };
  EXPECT_EQ(spans_per_min(c, c.fault.start + kUsPerSecond, c.fault.start + 50 * kUsPerSecond, on_target), 0);
  // callers hit refused connections (then retry another replica or fail)
  auto refused = [&](const Span& s) { return s.status_code == 503; };
  EXPECT_GT(spans_per_min(c, c.fault.start, c.fault.start + 60 * kUsPerSecond, refused), 0);
  // warm-up after the restart: CPU above normal
  EXPECT_GT(max_kpi(c, c.target, "CpuUsage(m)", c.fault.start, c.fault.end), 2 * before(c, {c.target}, "CpuUsage(m)"));
}

TEST(SimFaultSignatureTest, DiskIoRaisesSyscallsAndSlowsTheTarget) {
  const Case c = run_fault("disk_io");
  const std::set<Id> target{c.target};
  EXPECT_GT(during(c, target, "SyscallWrite"), 4 * before(c, target, "SyscallWrite"));
  EXPECT_GT(during(c, target, "SyscallRead"), 4 * before(c, target, "SyscallRead"));
  EXPECT_GT(during(c, target, "PodServerLatencyP90(s)"), 1.2 * before(c, target, "PodServerLatencyP90(s)"));
  EXPECT_GT(mean_call_to_target(c, c.fault.start, c.fault.end),
            1.2 * mean_call_to_target(c, c.before_start, c.before_end));
}

TEST(SimFaultSignatureTest, EveryTypeIsQuietBeforeItStarts) {
  // the normal time before a fault carries no fault-specific signal
  for (const auto& type : all_fault_types()) {
    const Case c = run_fault(type, 3);
    auto all = [](const Span&) { return true; };
    auto errors = [&](const Span& s) { return s.error; };
    const double spans_before = spans_per_min(c, c.before_start, c.before_end, all);
    ASSERT_GT(spans_before, 100) << type;
    EXPECT_LT(spans_per_min(c, c.before_start, c.before_end, errors), 0.01 * spans_before) << type;
    auto fault_logs = [&](const LogRecord& l) {
      return contains(l.message, "GC") || contains(l.message, "Retrying") || contains(l.message, "Unexpected") ||
             contains(l.message, "Started") || contains(l.message, "starvation") || contains(l.message, "Slow");
    };
    EXPECT_EQ(logs_per_min(c, c.before_start, c.before_end, fault_logs), 0) << type;
  }
}

}  // namespace
}  // namespace rslicer::sim
