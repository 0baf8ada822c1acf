#include "sim/faults.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "sim/rng.h"
#include "sim/simulator.h"

namespace rslicer::sim {

namespace {
struct TypeName {
  FaultType type;
  const char* name;
};
const TypeName kTypeNames[] = {
    {FaultType::kCpuContention, "cpu_contention"},
    {FaultType::kMemoryLeak, "memory_leak"},
    {FaultType::kNetworkDelay, "network_delay"},
    {FaultType::kPacketLoss, "packet_loss"},
    {FaultType::kException, "exception"},
    {FaultType::kReturn, "return"},
    {FaultType::kPodKill, "pod_kill"},
    {FaultType::kDiskIo, "disk_io"},
};
}  // namespace

const std::vector<std::string>& all_fault_types() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& t : kTypeNames) v.emplace_back(t.name);
    return v;
  }();
  return names;
}

const char* fault_type_name(FaultType t) {
  for (const auto& tn : kTypeNames)
    if (tn.type == t) return tn.name;
  return "?";
}

std::optional<FaultType> parse_fault_type(const std::string& name) {
  for (const auto& tn : kTypeNames)
    if (name == tn.name) return tn.type;
  return std::nullopt;
}

bool needs_app_code(FaultType t) { return t == FaultType::kException || t == FaultType::kReturn; }

FaultSchedule::FaultSchedule(const SimConfig& config, const Topology& topology) : topo_(&topology) {
  by_pod_.resize(topology.pods.size());
  if (config.faults <= 0) return;
  Rng rng(stream_key(config.seed, kStreamFaults));

  std::vector<FaultType> types;
  for (const auto& name : config.fault_types) types.push_back(*parse_fault_type(name));
  for (size_t i = types.size(); i > 1; --i) std::swap(types[i - 1], types[rng.below(static_cast<std::int64_t>(i))]);

  // Eligible services: named ones, or every service with traffic but the gateway.
  std::vector<double> service_rate(topology.services.size(), 0);
  for (const auto& e : topology.endpoints) service_rate[e.service] += e.unit_rate;
  std::vector<std::int32_t> eligible;
  if (!config.fault_services.empty()) {
    for (const auto& name : config.fault_services) {
      std::int32_t found = -1;
      for (std::int32_t si = 0; si < static_cast<std::int32_t>(topology.services.size()); ++si)
        if (topology.services[si].name == name) found = si;
      if (found < 0) {
        std::string known;
        for (const auto& s : topology.services) known += (known.empty() ? "" : ", ") + s.name;
        throw InvalidInput(
            cat("fault_services: no service named '", name, "' in the simulated topology (services: ", known, ")"));
      }
      eligible.push_back(found);
    }
  } else {
    for (std::int32_t si = 0; si < static_cast<std::int32_t>(topology.services.size()); ++si)
      if (topology.services[si].kind != ServiceKind::kGateway && service_rate[si] > 0) eligible.push_back(si);
  }

  const double total_s = config.hours * 3600.0;
  const double dur = config.fault_duration_s;
  const double gap = config.fault_gap_s;
  const double slot = (total_s - gap) / config.faults;
  RSLICER_CHECK(slot >= dur + gap, InvalidInput, "faults = ", config.faults, " of fault_duration_s = ", dur,
                " with fault_gap_s = ", gap, " normal seconds before and between them need at least ",
                config.faults * (dur + gap) + gap, " s, but hours = ", config.hours, " gives ", total_s,
                " s; lower faults, fault_duration_s or fault_gap_s, or raise hours");

  for (std::int32_t i = 0; i < config.faults; ++i) {
    const FaultType type = types[static_cast<size_t>(i) % types.size()];
    std::vector<std::int32_t> pods;
    for (std::int32_t si : eligible)
      if (!needs_app_code(type) || topology.services[si].kind == ServiceKind::kApp)
        for (std::int32_t p : topology.services[si].pods) pods.push_back(p);
    RSLICER_CHECK(!pods.empty(), InvalidInput, "fault type ", fault_type_name(type),
                  " needs an application service as target, and fault_services names none");
    // pick a service uniformly, then one of its pods
    std::vector<std::int32_t> services;
    for (std::int32_t p : pods)
      if (std::find(services.begin(), services.end(), topology.pods[p].service) == services.end())
        services.push_back(topology.pods[p].service);
    const std::int32_t svc = services[rng.below(static_cast<std::int64_t>(services.size()))];
    const auto& svc_pods = topology.services[svc].pods;
    const std::int32_t pod = svc_pods[rng.below(static_cast<std::int64_t>(svc_pods.size()))];

    const double offset = gap + i * slot + rng.uniform(0, slot - dur - gap);
    FaultPlan f;
    f.type = type;
    f.pod = pod;
    f.label.start = config.start + static_cast<TimeUs>(std::floor(offset)) * kUsPerSecond;
    f.label.end = f.label.start + static_cast<TimeUs>(std::llround(dur * kUsPerSecond));
    f.label.level = "pod";
    f.label.root_cause = topology.pods[pod].name;
    f.label.fault_type = fault_type_name(type);
    f.label.source = "simulator";
    f.severity = rng.uniform(0.8, 1.2) * config.fault_intensity;
    const auto& s = topology.services[svc];
    switch (type) {
      case FaultType::kCpuContention:
        f.cpu_extra_frac = std::min(0.97, rng.uniform(0.8, 0.95) * config.fault_intensity);
        break;
      case FaultType::kMemoryLeak:
        f.leak_mi = (s.mem_limit_mi * 0.95 - topology.pods[pod].mem_base_mi) *
                    std::min(1.0, rng.uniform(0.65, 0.85) * f.severity);
        break;
      case FaultType::kNetworkDelay:
        f.delay_us = config.network_delay_ms * 1000.0 * f.severity;
        break;
      case FaultType::kPacketLoss:
        f.loss = std::min(0.9, config.packet_loss_rate * f.severity);
        break;
      case FaultType::kException:
      case FaultType::kReturn:
        f.error_prob = std::min(1.0, rng.uniform(0.6, 1.0) * f.severity);
        break;
      case FaultType::kPodKill:
        f.down_s = std::min(config.pod_kill_down_s, 0.8 * dur);
        break;
      case FaultType::kDiskIo:
        f.io_factor = 1 + rng.uniform(6, 15) * f.severity;
        break;
    }
    by_pod_[pod].push_back(static_cast<std::int32_t>(plans_.size()));
    plans_.push_back(f);
  }
}

std::vector<FaultEvent> FaultSchedule::labels() const {
  std::vector<FaultEvent> out;
  for (const auto& f : plans_) out.push_back(f.label);
  return out;
}

PodCondition FaultSchedule::condition(std::int32_t pod, TimeUs t) const {
  PodCondition c;
  if (plans_.empty()) return c;
  const auto& ps = topo_->pods[pod];
  const auto& svc = topo_->services[ps.service];
  for (std::int32_t idx : by_pod_[pod]) {
    const FaultPlan& f = plans_[idx];
    if (t < f.label.start) continue;
    const double dt = static_cast<double>(t - f.label.start) / kUsPerSecond;
    const double dur = static_cast<double>(f.label.end - f.label.start) / kUsPerSecond;
    const bool active = t < f.label.end;
    if (active) {
      c.fault = idx;
      c.progress = dt / dur;
    }
    switch (f.type) {
      case FaultType::kCpuContention:
        if (active) c.cpu_extra_m += f.cpu_extra_frac * svc.cpu_limit_m;
        break;
      case FaultType::kMemoryLeak:
        if (active) {
          c.mem_extra_mi += f.leak_mi * c.progress;
          const double usage = (ps.mem_base_mi + c.mem_extra_mi) / svc.mem_limit_mi;
          const double pressure = std::clamp((usage - 0.7) / 0.3, 0.0, 1.0);
          c.cpu_extra_m += 0.35 * svc.cpu_limit_m * pressure;  // garbage collection
          c.self_factor *= 1 + 2.5 * pressure;                 // GC pauses
        }
        break;
      case FaultType::kNetworkDelay:
        if (active) c.delay_us += f.delay_us;
        break;
      case FaultType::kPacketLoss:
        if (active) c.loss = 1 - (1 - c.loss) * (1 - f.loss);
        break;
      case FaultType::kException:
        if (active) c.exception_prob = std::max(c.exception_prob, f.error_prob);
        break;
      case FaultType::kReturn:
        if (active) c.return_prob = std::max(c.return_prob, f.error_prob);
        break;
      case FaultType::kDiskIo:
        if (active) {
          c.io_factor *= f.io_factor;
          c.self_factor *= 2 + 3 * f.severity;  // I/O wait
          c.cpu_extra_m += 0.15 * f.severity * svc.cpu_limit_m;
        }
        break;
      case FaultType::kPodKill: {
        if (dt < f.down_s) {
          c.down = true;
        } else if (dt - f.down_s < kRestartAftermathS) {
          const double since = dt - f.down_s;
          const double warm = std::exp(-since / kRestartWarmupS);
          c.since_restart_s = since;
          c.restarting = since < 3 * kRestartWarmupS;
          c.self_factor *= 1 + 3 * warm;                                       // cold caches, JIT
          c.cpu_extra_m += 0.6 * svc.cpu_limit_m * warm;                       // class loading, JIT
          c.mem_extra_mi -= 0.45 * ps.mem_base_mi * std::exp(-since / 900.0);  // heap regrows
        }
        break;
      }
    }
  }
  return c;
}

}  // namespace rslicer::sim
