// Writing records in one of the formats the readers accept (used by the
// simulator and by round-trip tests). The writer makes the folder layout of
// the format, including its label file, so open_source() on `dir` reads the
// same records back.
#pragma once

#include <string>
#include <vector>

#include "telemetry/stream.h"

namespace rslicer {

struct WriteOptions {
  bool gzip = true;  // compress CSV / JSON-lines files (.gz)
};

// Writes `data` under `dir` in `format` ("nezha", "aiops22" or "otlp").
// Throws InvalidInput for an unknown format, IoError when writing fails.
void write_dataset(const std::string& dir, const std::string& format, const DatasetRecords& data,
                   const WriteOptions& options = {});

}  // namespace rslicer
