// Recorded telemetry as OTLP export requests, in the order a live exporter
// would send them: the load generator (bench/serve_bench.cc) and the serve
// tests replay files this way.
#pragma once

#include <functional>
#include <vector>

#include "ingest/otlp_decode.h"
#include "ingest/source.h"

namespace rslicer {

// Reads `source` once and hands its records over as requests of one signal
// each, in time order across signals: a chunk holds the records of at most
// `chunk_s` seconds of data time (and at most `max_records`), its metrics,
// spans and logs each one request. Names resolve through source.catalog().
// Chunks shorter than the allowed lateness keep every record on time.
void for_each_request(TelemetrySource& source, double chunk_s, std::size_t max_records,
                      const std::function<void(OtlpSignal, std::vector<Record>&&)>& fn);

}  // namespace rslicer
