// Fault plans (what is injected where and when) and the condition of a pod at
// an instant, which every generator (metrics, traces, logs) reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "telemetry/record.h"
#include "sim/topology.h"

namespace rslicer::sim {

struct SimConfig;

enum class FaultType : std::uint8_t {
  kCpuContention,
  kMemoryLeak,
  kNetworkDelay,
  kPacketLoss,
  kException,
  kReturn,
  kPodKill,
  kDiskIo
};
const char* fault_type_name(FaultType t);
std::optional<FaultType> parse_fault_type(const std::string& name);
// exception and return need application code; the others hit any pod.
bool needs_app_code(FaultType t);

// One injected fault with its drawn parameters.
struct FaultPlan {
  FaultEvent label;  // start, end, level "pod", root_cause, fault_type
  FaultType type = FaultType::kCpuContention;
  std::int32_t pod = -1;
  double severity = 1.0;      // U(0.8, 1.2) x config.fault_intensity
  double cpu_extra_frac = 0;  // cpu_contention: share of the pod's CPU limit the stressor takes
  double delay_us = 0;        // network_delay
  double loss = 0;            // packet_loss
  double error_prob = 0;      // exception / return: share of requests that fail
  double leak_mi = 0;         // memory_leak: MiB leaked by the end of the fault
  double down_s = 0;          // pod_kill: seconds until the restart
  double io_factor = 1;       // disk_io: syscall multiplier
};

// A pod's state at one instant, the sum of all faults acting on it.
struct PodCondition {
  double self_factor = 1;       // multiplies the pod's own processing time
  double cpu_extra_m = 0;       // CPU taken by a stressor, GC or warm-up (millicores)
  double mem_extra_mi = 0;      // leaked (positive) or freed by a restart (negative)
  double delay_us = 0;          // added to every response and outgoing call
  double loss = 0;              // packet loss probability
  double exception_prob = 0;    // requests that throw
  double return_prob = 0;       // requests that return an error response
  double io_factor = 1;         // syscall multiplier
  bool down = false;            // killed, not yet restarted
  bool restarting = false;      // within the warm-up after a restart
  double since_restart_s = -1;  // seconds since the last restart, -1 when none is recent
  std::int32_t fault = -1;      // plan index of the active fault, -1 when none
  double progress = 0;          // position within the active fault, 0..1
};

class FaultSchedule {
 public:
  FaultSchedule() = default;
  // Draws the plans. Throws InvalidInput when the faults do not fit the span
  // or no pod is eligible for a requested type.
  FaultSchedule(const SimConfig& config, const Topology& topology);

  const std::vector<FaultPlan>& plans() const { return plans_; }
  std::vector<FaultEvent> labels() const;
  // Condition of `pod` at time t (pure function).
  PodCondition condition(std::int32_t pod, TimeUs t) const;
  // Plans touching `pod` (for restart logs and aftermath).
  const std::vector<std::int32_t>& plans_of(std::int32_t pod) const { return by_pod_[pod]; }

 private:
  const Topology* topo_ = nullptr;
  std::vector<FaultPlan> plans_;
  std::vector<std::vector<std::int32_t>> by_pod_;
};

// Warm-up time constant after a restart (seconds) and how long the aftermath
// (memory regrowth) lasts.
constexpr double kRestartWarmupS = 60;
constexpr double kRestartAftermathS = 3600;

}  // namespace rslicer::sim
