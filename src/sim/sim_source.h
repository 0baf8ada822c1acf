// The simulator as a TelemetrySource: records are generated chunk by chunk
// while the stream is read, so memory stays bounded by one chunk (an hour of
// simulated time) however long the simulation is. Lets training and the
// slicer consume a simulation without writing files.
#pragma once

#include <memory>

#include "telemetry/stream.h"
#include "sim/simulator.h"

namespace rslicer::sim {

// format() is "sim"; faults() are the simulator's labels; open() streams the
// records of every modality in non-decreasing time. counts() grows as the
// stream is read.
std::unique_ptr<TelemetrySource> open_simulation(const SimConfig& config);

}  // namespace rslicer::sim
