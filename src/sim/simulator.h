// Controlled fault injection: a simulator of a microservice system that
// produces labelled metrics, traces and logs in the telemetry model of
// ingest/record.h, ready for write_dataset() (ingest/writer.h) or for direct
// use as a TelemetrySource (sim/sim_source.h).
//
// What is simulated (docs/simulator.md has the details and the comparison
// with TrainTicket):
//  - a topology: an entry gateway, application services in three layers and
//    shared back ends (databases, caches), 1-3 replica pods per service on
//    nodes, endpoints with a call graph (fan-out, loops, optional calls);
//  - a workload with a daily cycle and slow multiplicative noise;
//  - head-sampled traces along the call graph (server and client spans,
//    durations that compose, status codes, retries);
//  - per-pod metrics every metric_interval_s with the nezha KPI names,
//    computed from the full (unsampled) traffic with an analytic latency
//    model that uses the same distributions as the traces;
//  - logs from per-service templates, tied to spans by trace and span id;
//  - faults (cpu_contention, memory_leak, network_delay, packet_loss,
//    exception, return, pod_kill, disk_io) on single pods, each with its own
//    signature and propagation to callers, labelled as FaultEvents.
//
// Determinism: the output is a pure function of the SimConfig (seed
// included); thread count and chunking do not change it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "telemetry/record.h"
#include "telemetry/stream.h"

namespace rslicer::sim {

// The eight fault types, in the order of SimConfig::fault_types' default.
const std::vector<std::string>& all_fault_types();

struct SimConfig {
  std::int32_t services = 12;                  // services, including the gateway and the back ends (>= 3)
  double hours = 2.0;                          // simulated time span
  std::int32_t faults = 6;                     // injected faults, spread over the span without overlap
  std::uint64_t seed = 42;                     // everything is a pure function of the config and this seed
  TimeUs start = 1704067200LL * kUsPerSecond;  // first instant simulated (2024-01-01T00:00:00Z)
  std::int32_t metric_interval_s = 60;         // one metric row per pod every interval
  double requests_per_s = 25.0;                // mean request rate at the gateway over a day
  double daily_amplitude = 0.5;                // relative amplitude of the daily traffic cycle, in [0, 0.95]
  double peak_hour_utc = 14.0;                 // hour of day (UTC) of the traffic peak
  double traffic_noise = 0.15;                 // sd of the slow multiplicative noise on the request rate
  double bursts_per_hour = 0.5;     // unlabelled load bursts (x1.5-3 for 1-5 minutes), expected per hour, <= 3
  double trace_sample_rate = 0.04;  // head-sampling probability of a request's trace (and its logs)
  double log_rate = 1.0;            // multiplier on per-request and background log lines
  std::vector<std::string> fault_types = all_fault_types();  // types drawn round-robin (shuffled)
  std::vector<std::string> fault_services;  // restrict fault targets to these services; empty: any but the gateway
  double fault_duration_s = 300;            // length of each fault (the label's end - start)
  double fault_gap_s = 600;                 // minimum normal time before the first fault and between faults
  double fault_intensity = 1.0;             // scales the severity of every fault
  double network_delay_ms = 200;            // network_delay: added to each response and outgoing call of the pod
  double packet_loss_rate = 0.3;            // packet_loss: loss probability per packet
  double pod_kill_down_s = 60;              // pod_kill: seconds the pod is gone before it restarts
  std::int32_t max_retries = 2;             // client retries after connection errors and timeouts
  std::int32_t max_replicas = 3;            // replicas per application service are drawn from 1..max_replicas
  std::int32_t pods_per_node = 8;           // node count = ceil(pods / pods_per_node), at least 2
  std::int32_t threads = 0;  // worker threads for simulate(); 0: hardware concurrency (no effect on output)
  static const config::Schema<SimConfig>& schema();
};

// Throws InvalidInput naming the field and value when a field is out of range.
void validate(const SimConfig& config);

// Reads a JSON object whose keys are SimConfig field names ("start" may be an
// ISO-8601 string or epoch seconds). Unknown keys and wrong types throw
// InvalidInput naming the file and key; absent keys keep their defaults.
SimConfig load_sim_config(const std::string& json_path);
SimConfig parse_sim_config(const std::string& json_text, const std::string& origin = "<config>");
std::string sim_config_to_json(const SimConfig& config);  // every field, pretty-printed

// What a simulation produced, for the CLI and for round-trip checks.
struct SimCounts {
  std::int64_t metric_points = 0;  // (time, entity, kpi, value) points
  std::int64_t metric_rows = 0;    // (time, pod) rows, as in nezha's per-pod files
  std::int64_t spans = 0;
  std::int64_t traces = 0;
  std::int64_t error_spans = 0;
  std::int64_t log_records = 0;
  std::map<std::string, std::int64_t> logs_by_level;  // "INFO" -> n
  std::int64_t faults = 0;
  std::map<std::string, std::int64_t> faults_by_type;  // fault type -> n
  std::int32_t services = 0;
  std::int32_t pods = 0;
  std::int32_t nodes = 0;

  void add(const SimCounts& other);  // sums record counts (not faults or entities)
};

// One chunk of simulated time: each modality sorted by time.
struct SimChunk {
  TimeUs begin = 0;  // [begin, end): metric rows and trace starts fall inside
  TimeUs end = 0;
  std::vector<MetricPoint> metrics;
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  SimCounts counts;  // record counts of this chunk
};

struct Topology;
class FaultSchedule;

// The simulated system. Construction validates the config and builds the
// topology, the catalog and the fault schedule; chunk() generates records.
class Simulator {
 public:
  explicit Simulator(const SimConfig& config);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  const SimConfig& config() const;
  const Catalog& catalog() const;                 // every pod, node, service, KPI and operation
  const std::vector<FaultEvent>& faults() const;  // labels, sorted by start
  const Topology& topology() const;
  const FaultSchedule& schedule() const;
  TimeUs end_time() const;  // start + hours

  std::int64_t num_chunks() const;
  TimeUs chunk_length_us() const;
  // Records of chunk i. Thread-safe and deterministic. Spans of a trace that
  // starts in the chunk belong to it even when they end after chunk end.
  SimChunk chunk(std::int64_t index) const;

  // Counts of faults and entities (record counts are zero).
  SimCounts static_counts() const;

  struct Impl;  // generation state, defined in simulator.cc

 private:
  std::unique_ptr<Impl> impl_;
};

// A whole simulation in memory. data.catalog points at catalog (kept valid
// across moves).
struct SimResult {
  Catalog catalog;
  DatasetRecords data;
  SimCounts counts;

  SimResult() { data.catalog = &catalog; }
  SimResult(SimResult&& other) noexcept;
  SimResult& operator=(SimResult&& other) noexcept;
  SimResult(const SimResult&) = delete;
  SimResult& operator=(const SimResult&) = delete;
};

// Progress callback: chunks done, chunks in all. Called on the calling thread.
using SimProgress = std::function<void(std::int64_t done, std::int64_t total)>;

// Runs the whole simulation (chunks in parallel on config.threads threads)
// and returns every record, each modality sorted by time.
SimResult simulate(const SimConfig& config, const SimProgress& progress = {});

}  // namespace rslicer::sim
