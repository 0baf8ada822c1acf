// A small trained model on simulated data, for the tests of the product path
// (detect, serve): a fault-free run to train on and a later faulty run of the
// same system to find the faults in. Header-only: used by test binaries that
// link api/.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/pipeline.h"
#include "api/simulate.h"
#include "test_util.h"

namespace rslicer::testing {

struct SimulatedModel {
  std::string dir, model, normal, faulty;
  std::vector<FaultEvent> faults;     // injected into the faulty run
  TrainSummary summary;
};

// A fault-free run of `services` services over `hours` (seed `seed`), and the same system's next day, `faulty_hours`
// long, with one fault of each of `fault_types`.
inline std::pair<sim::SimConfig, sim::SimConfig> normal_and_next_day(int services, double hours, std::uint64_t seed,
                                                                     double faulty_hours,
                                                                     std::vector<std::string> fault_types) {
  sim::SimConfig normal;
  normal.services = services;
  normal.hours = hours;
  normal.faults = 0;
  normal.seed = seed;
  sim::SimConfig faulty = normal;
  faulty.hours = faulty_hours;
  faulty.faults = static_cast<int>(fault_types.size());
  faulty.start += 24 * 3600 * kUsPerSecond;  // the same hours of the next day
  faulty.fault_types = std::move(fault_types);
  return {normal, faulty};
}

// Simulates `normal` (no faults) and `faulty` (usually the next day) in `format`, and trains a 3-epoch model
// with label-free heads on the normal run (about half a minute on 2 cores). CTest runs every test in its own
// process: the result is cached under the build folder, keyed by `prefix` and this test binary's build time, and
// built once (a file lock makes concurrent test processes wait for the first).
inline SimulatedModel train_simulated_model(const std::string& prefix, const sim::SimConfig& normal,
                                            const sim::SimConfig& faulty, const std::string& format) {
  namespace fs = std::filesystem;
  const auto built = fs::last_write_time(fs::read_symlink("/proc/self/exe")).time_since_epoch().count();
  SimulatedModel w;
  w.dir = cat(binary_dir(), "/test_cache/", prefix, "-", built);
  w.normal = w.dir + "/normal";
  w.faulty = w.dir + "/faulty";
  w.model = w.dir + "/model";
  fs::create_directories(w.dir);
  std::error_code ec;  // models cached by earlier builds of this binary go
  for (const auto& e : fs::directory_iterator(binary_dir() + "/test_cache", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix + "-", 0) == 0 && e.path().string() != w.dir && e.path().string() != w.dir + ".lock")
      fs::remove_all(e.path(), ec);
  }
  const int lock = open((w.dir + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock >= 0) flock(lock, LOCK_EX);
  const std::string ready = w.dir + "/ready.json";
  if (fs::exists(ready)) {
    std::ifstream in(ready);
    const nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& f : j.at("faults"))
      w.faults.push_back({f.at("start").get<TimeUs>(), f.at("end").get<TimeUs>(), f.at("level").get<std::string>(),
                          f.at("root_cause").get<std::string>(), f.at("fault_type").get<std::string>(), ""});
    w.summary.labelled_cases = j.at("labelled_cases").get<size_t>();
  } else {
    for (const auto& d : {w.normal, w.faulty, w.model}) fs::remove_all(d);
    simulate_dataset(normal, w.normal, format, true, false);
    w.faults = simulate_dataset(faulty, w.faulty, format, true, false).faults;
    TrainRequest t;
    t.data_path = w.normal;
    t.out_dir = w.model;
    t.config.max_epochs = 3;
    t.config.max_minutes = 0;
    t.progress = false;
    w.summary = train_model(t);
    nlohmann::json faults = nlohmann::json::array();
    for (const auto& f : w.faults)
      faults.push_back({{"start", f.start}, {"end", f.end}, {"level", f.level}, {"root_cause", f.root_cause},
                        {"fault_type", f.fault_type}});
    std::ofstream(ready) << nlohmann::json{{"faults", faults}, {"labelled_cases", w.summary.labelled_cases}}.dump();
  }
  if (lock >= 0) {
    flock(lock, LOCK_UN);
    close(lock);
  }
  return w;
}

}  // namespace rslicer::testing
