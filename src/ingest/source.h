// Reading a dataset from files: open_source() picks the reader of a format
// (nezha, aiops22, otlp, rcaeval, widecsv; docs/formats.md) and returns a TelemetrySource
// (telemetry/stream.h) whose stream merges every file in time order. Memory
// is bounded by the files being read and merged, never by the dataset
// (docs/design.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "telemetry/stream.h"

namespace rslicer {

// Options shared by every reader.
struct ReadOptions {
  bool strict = false;                  // the first rejected record is an error
  double fault_duration_s = -1;         // label duration when the label has none; <0: the format's default
  bool read_metrics = true;             // skip a modality entirely when false
  bool read_traces = true;
  bool read_logs = true;
  int parse_threads = -1;               // threads parsing files ahead of the merge (nezha): -1 one per
                                        // hardware thread, 0 none (parse on the reading thread)
  double parse_ahead_mb = 256;          // nezha: a date's per-pod metric files (each covers the day) are parsed
                                        // ahead, all at once, while their compressed size is within this;
                                        // a larger date reads them row by row on the reading thread, so
                                        // memory stays bounded (parsed points take about 7x the compressed
                                        // size on TrainTicket)
  // --allowed-lateness: seconds a record may arrive behind the newest one before it is dropped as late; overrides
  // the slicing option slice.allowed_lateness_s when >= 0. Not a config field (the slicing option is).
  double allowed_lateness_s = -1;
  static const config::Schema<ReadOptions>& schema();
};

// Known formats, for --format and error messages.
std::vector<std::string> known_formats();

// Guesses the format of a path (folder or file); throws InvalidInput naming
// the path and what was looked for when nothing matches.
std::string detect_format(const std::string& path);

// Opens a dataset. `format` empty or "auto" means detect. Throws
// InvalidInput for an unknown format or an empty/unreadable folder.
std::unique_ptr<TelemetrySource> open_source(const std::string& path, const std::string& format,
                                             const ReadOptions& options);

}  // namespace rslicer
