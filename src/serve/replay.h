// Recorded telemetry as OTLP export requests, in the order a live exporter
// would send them: the load generator (bench/serve_bench.cc) and the serve
// tests replay files this way.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ingest/otlp_decode.h"
#include "ingest/source.h"

namespace httplib {
class Client;
}

namespace rslicer {

// Reads `source` once and hands its records over as requests of one signal
// each, in time order across signals: a chunk holds the records of at most
// `chunk_s` seconds of data time (and at most `max_records`), its metrics,
// spans and logs each one request. Names resolve through source.catalog().
// Chunks shorter than the allowed lateness keep every record on time.
void for_each_request(TelemetrySource& source, double chunk_s, std::size_t max_records,
                      const std::function<void(OtlpSignal, std::vector<Record>&&)>& fn);

// POSTs one export request body to /v1/<signal> on `client` (whose base URL is `url`, for messages), as an
// exporter does under back-pressure: a 503 or 429 answer waits 100 ms and tries again, up to `max_retries` times.
// IoError naming the URL when the endpoint cannot be reached or answers anything else than 200.
struct PostResult {
  int retries = 0;       // back-pressure answers before the 200
  bool partial = false;  // the 200 carried a partial success (some records rejected)
};
PostResult post_export(httplib::Client& client, const std::string& url, OtlpSignal signal, const std::string& body,
                       bool json, int max_retries = 600);

}  // namespace rslicer
