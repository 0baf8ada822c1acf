// Data preparation shared by training, embedding and evaluation: read a
// dataset (ingest/), mine log templates (logparse/), cut runtime slices
// (slice/) and featurise them (features/), keeping only the compact
// FeatureSlices (raw slices are dropped as soon as they are featurised).
// Also the ONE time-ordered split rule every command uses (SplitSpec /
// time_split), so training never sees the test part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/parse_stats.h"
#include "features/features.h"
#include "telemetry/record.h"
#include "ingest/source.h"
#include "slice/slice.h"

namespace rslicer {

struct PrepareOptions {
  ReadOptions read;                       // reader options (--strict, modalities)
  SliceOptions slice;                     // window length / stride
  FeatureOptions features;                // used when `initial_features` is null
  const FeatureState* initial_features = nullptr;  // a model's feature state (KPI slots, options); copied, then frozen
  const nlohmann::json* initial_drain = nullptr;   // a model's saved Drain state: mining continues from its templates
  bool progress = true;                   // progress bar on stderr
  bool serialize_texts = false;           // also fill FeatureSlice::texts (input of the qwen3 backbone)
};

struct PreparedData {
  std::string path;                       // dataset path as given
  std::string format;                     // detected or given format
  Catalog catalog;                        // names of entities, KPIs, operations
  std::vector<FaultEvent> faults;         // sorted by start; FeatureSlice::faults index into it
  std::vector<FeatureSlice> slices;       // in time order
  FeatureState features;                  // extractor state after the run (KPI slots, key names)
  nlohmann::json drain_state;             // Drain miner state after the run (saved with a model)
  std::vector<std::string> templates;     // template id -> template text
  ParseStats parse_stats;                 // rejected records
  ReadCounts counts;                      // what was read
  SliceStats slice_stats;                 // what the slicer did
  double seconds = 0;                     // wall time of prepare_data
};

// Reads `path` (format "" or "auto" = detect) end to end. Memory is bounded by
// the slicer window plus the FeatureSlices.
PreparedData prepare_data(const std::string& path, const std::string& format, const PrepareOptions& options);

// Runs the simulator (src/sim) with the SimConfig fields in `sim_config`
// (JSON object; {} = defaults), writes its output to a temporary folder and
// prepares it like a dataset. Throws InvalidInput when this build has no
// simulator.
PreparedData prepare_simulated(const nlohmann::json& sim_config, const PrepareOptions& options);

// Time-ordered split. With by = "time" the boundaries are fractions of the
// covered time: quantiles of the slice start times (with regular slices,
// the first 60 % of the slices), so gaps between recorded periods do not
// move the boundary into a gap where there is nothing to validate on; with by = "cases" the test
// part starts at the first fault of the last (1 - train_fraction) of the
// faults sorted by start (the ART/DeST protocol), and validation at the fault
// that starts the last validation_fraction of the training faults. Slices
// that straddle a boundary belong to neither side (purged), so no window
// overlaps both train and test.
struct SplitSpec {
  std::string by = "time";          // "time" or "cases"
  double train_fraction = 0.6;      // the first part (train + validation); the rest is test
  double validation_fraction = 0.15;  // the last part of the first part is validation (early stopping)
};
nlohmann::json to_json(const SplitSpec& s);
SplitSpec split_spec_from_json(const nlohmann::json& j, const SplitSpec& base = {});  // unknown key -> InvalidInput

struct Split {
  std::vector<size_t> train;        // indices into the slices, in time order
  std::vector<size_t> validation;
  std::vector<size_t> test;
  TimeUs validation_start = 0;      // boundaries (UTC microseconds)
  TimeUs test_start = 0;
};
// `faults` are only needed for by = "cases". Throws InvalidInput when the
// fractions are outside (0, 1) or there are no slices.
Split time_split(const std::vector<FeatureSlice>& slices, const SplitSpec& spec,
                 const std::vector<FaultEvent>& faults = {});

}  // namespace rslicer
