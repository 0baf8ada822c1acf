// The incident flags of every command that turns alarms into incidents (`detect`, `serve`): --gap, --min-slices,
// --root-causes and --set for the rest of DetectOptions (e.g. --set split_on_root_cause=false).
#pragma once

#include <CLI/CLI.hpp>

#include "api/pipeline.h"
#include "config_flags.h"

namespace rslicer::cli {

inline void add_incident_flags(CLI::App& sub, ConfigFlags<DetectOptions>& flags) {
  flags.bind(sub, "--gap", "incident_gap_s");
  flags.bind(sub, "--min-slices", "min_incident_slices");
  flags.bind(sub, "--root-causes", "root_causes");
  flags.add_set(sub);
}

}  // namespace rslicer::cli
