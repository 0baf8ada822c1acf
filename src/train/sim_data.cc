// prepare_simulated(): the simulator (src/sim) as a training source.
#include <filesystem>
#include <random>

#include "core/errors.h"
#include "train/pipeline.h"

#include "ingest/writer.h"
#include "sim/simulator.h"

namespace rslicer {

PreparedData prepare_simulated(const nlohmann::json& sim_config, const PrepareOptions& options) {
  namespace fs = std::filesystem;
  sim::SimConfig cfg = sim::parse_sim_config(sim_config.is_null() ? std::string("{}") : sim_config.dump(),
                                             "sources[].simulator");
  sim::SimResult res = sim::simulate(cfg);
  std::random_device rd;
  fs::path dir = fs::temp_directory_path() / ("rslicer-sim-" + std::to_string(rd()));
  fs::create_directories(dir);
  write_dataset(dir.string(), "aiops22", res.data);
  PreparedData p;
  try {
    p = prepare_data(dir.string(), "aiops22", options);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  p.path = "simulator";
  return p;
}

}  // namespace rslicer
