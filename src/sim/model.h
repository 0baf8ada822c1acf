// The analytic side of the simulator: traffic, CPU and latency of every pod
// at one instant, computed from the full (unsampled) request rate. Metrics
// come from here; sampled traces draw from the same distributions (self
// times, network hops, fault effects), so the two modalities agree.
//
// Latencies are carried as moments (E[X], E[X^2]) in microseconds: sums of
// independent parts add, mixtures average; percentiles come from the
// lognormal with the same moments.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/faults.h"
#include "sim/topology.h"

namespace rslicer::sim {

struct SimConfig;

struct Moments {
  double m1 = 0;  // E[X]
  double m2 = 0;  // E[X^2]

  static Moments constant(double x) { return {x, x * x}; }
  static Moments lognormal(double mu, double sigma);
  Moments plus(const Moments& o) const { return {m1 + o.m1, m2 + o.m2 + 2 * m1 * o.m1}; }  // independent sum
  Moments scaled(double k) const { return {m1 * k, m2 * k * k}; }
  void mix_in(double weight, const Moments& o) {  // accumulate a weighted mixture (divide by total weight later)
    m1 += weight * o.m1;
    m2 += weight * o.m2;
  }
  Moments divided(double total_weight) const {
    return total_weight > 0 ? Moments{m1 / total_weight, m2 / total_weight} : Moments{};
  }
  // Quantile of the lognormal with these moments; z is the standard normal quantile.
  double quantile(double z) const;
};

// Constants shared by the model and the trace generator.
constexpr double kNetMedianUs = 400;  // one network hop (request + response), median
constexpr double kNetSigma = 0.5;
constexpr double kConnectFailUs = 1000;       // connection refused by a dead pod
constexpr double kTimeoutUs = 1000000;        // client read timeout
constexpr double kRtoUs = 250000;             // mean TCP retransmission penalty
constexpr double kPropagateProb = 0.8;        // a failed call fails the caller
constexpr double kReturnPropagateProb = 0.3;  // an error *response* fails the caller
constexpr double kExceptionSelfShare = 0.3;   // a throwing request stops after this share of its work
double queue_factor(double utilisation);      // latency inflation from CPU utilisation in [0, 1]
double retransmit_prob(double loss);          // one exchange needs a retransmission
double timeout_prob(double loss);             // one exchange times out

// The whole system at one instant.
struct SystemStep {
  TimeUs time = 0;
  double entry_rate = 0;                     // requests/s at the gateway
  std::vector<PodCondition> cond;            // per pod
  std::vector<double> server_rate;           // per pod: requests/s served
  std::vector<double> cpu_m;                 // per pod: CPU demand in millicores (before the limit)
  std::vector<double> queue;                 // per pod: latency factor from CPU utilisation
  std::vector<double> mem_load_mi;           // per pod: memory from in-flight work and faults
  std::vector<double> rx, tx;                // per pod: bytes/s
  std::vector<double> syscall_r, syscall_w;  // per pod: syscalls/s
  // with_latency only:
  std::vector<Moments> server_lat;  // per pod: latency of served requests (us)
  std::vector<double> server_err;   // per pod: share of served requests that fail
  std::vector<double> client_rate;  // per pod: outgoing call attempts/s
  std::vector<Moments> client_lat;  // per pod: latency of outgoing attempts (us)
};

class SystemModel {
 public:
  SystemModel(const SimConfig& config, const Topology& topology, const FaultSchedule& schedule);

  // Gateway request rate at t: daily cycle times slow noise.
  double entry_rate(TimeUs t) const;
  // Fills `out` for instant t. Latencies only when with_latency.
  void evaluate(TimeUs t, bool with_latency, SystemStep& out) const;

 private:
  const SimConfig& config_;
  const Topology& topo_;
  const FaultSchedule& schedule_;
};

}  // namespace rslicer::sim
