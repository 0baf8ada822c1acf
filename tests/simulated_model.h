// A small trained model on simulated data, for the tests of the product path
// (detect, serve): a fault-free run to train on and a later faulty run of the
// same system to find the faults in. Header-only: used by test binaries that
// link api/.
#pragma once

#include <string>
#include <vector>

#include "api/pipeline.h"
#include "api/simulate.h"
#include "test_util.h"

namespace rslicer::testing {

struct SimulatedModel {
  std::string dir, model, normal, faulty;
  std::vector<FaultEvent> faults;     // injected into the faulty run
  TrainSummary summary;
};

// Simulates `normal` (no faults) and `faulty` (usually the next day) under a fresh temp dir in `format`, and
// trains a 3-epoch model with label-free heads on the normal run (about half a minute on 2 cores).
inline SimulatedModel train_simulated_model(const std::string& prefix, const sim::SimConfig& normal,
                                            const sim::SimConfig& faulty, const std::string& format) {
  SimulatedModel w;
  w.dir = make_temp_dir(prefix);
  w.normal = w.dir + "/normal";
  w.faulty = w.dir + "/faulty";
  simulate_dataset(normal, w.normal, format, true, false);
  w.faults = simulate_dataset(faulty, w.faulty, format, true, false).faults;
  TrainRequest t;
  t.data_path = w.normal;
  t.out_dir = w.model = w.dir + "/model";
  t.config.max_epochs = 3;
  t.config.max_minutes = 0;
  t.progress = false;
  w.summary = train_model(t);
  return w;
}

}  // namespace rslicer::testing
