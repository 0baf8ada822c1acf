// `rslicer simulate`: run the simulator (sim/) and write its telemetry and
// labels in a reader format (ingest/writer.h).
#pragma once

#include <string>
#include <vector>

#include "sim/simulator.h"

namespace rslicer {

struct SimulateReport {
  sim::SimCounts counts;             // what was generated (rslicer inspect reports the same)
  std::vector<FaultEvent> faults;    // the injected faults
  double simulate_seconds = 0, write_seconds = 0;
};

// Simulates `config` and writes it under `out_dir` in `format` (nezha,
// aiops22, otlp). `out_dir` must be absent or empty (two runs in one folder
// would mix their files); InvalidInput otherwise.
SimulateReport simulate_dataset(const sim::SimConfig& config, const std::string& out_dir, const std::string& format,
                                bool gzip = true, bool progress = true);

}  // namespace rslicer
