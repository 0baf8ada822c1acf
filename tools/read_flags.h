// The reader flags of every command that reads a dataset: --strict, --allowed-lateness and --fault-duration.
#pragma once

#include <CLI/CLI.hpp>

#include "ingest/source.h"

namespace rslicer::cli {

inline void add_read_flags(CLI::App& sub, ReadOptions& read) {
  sub.add_flag("--strict", read.strict,
               "Fail on the first malformed record, and when any record is dropped as late or as a clock outlier");
  sub.add_option("--allowed-lateness", read.allowed_lateness_s,
                 "Seconds a record may arrive behind the newest one before it is dropped as late (default: the "
                 "slicing option, 120 s)")
      ->check(CLI::Range(0.0, 30 * 86400.0));
  sub.add_option("--fault-duration", read.fault_duration_s,
                 "Seconds a labelled fault lasts where its label gives no end or duration (default: the format's, "
                 "180 s for nezha; docs/formats.md)")
      ->check(CLI::Range(1.0, 30 * 86400.0));
}

}  // namespace rslicer::cli
