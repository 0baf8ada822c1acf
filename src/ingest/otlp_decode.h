// OTLP export requests <-> records: one decoder for the OTLP/JSON and the
// OTLP/protobuf (binary) forms of ExportTraceServiceRequest,
// ExportMetricsServiceRequest and ExportLogsServiceRequest, used by the otlp
// file reader (one JSON request per line) and by receivers of OTLP/HTTP
// bodies; encoders of records into request bodies (load generation, replay,
// tests) and of the partial-success response. The mapping of requests to
// records is the otlp format's (docs/formats.md, "otlp"); both encodings of
// the same request give the same records. The protobuf message classes stay
// private to otlp_decode.cc: including this header needs no generated code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/parse_stats.h"
#include "telemetry/stream.h"

namespace rslicer {

enum class OtlpSignal : std::uint8_t { kTraces = 0, kMetrics = 1, kLogs = 2 };
const char* otlp_signal_name(OtlpSignal s);  // "traces", "metrics", "logs"

struct OtlpDecodeResult {
  bool ok = true;  // false: the body is not a parsable export request (HTTP 400); `error` says why
  std::string error;
  std::int64_t records = 0;   // records appended to `out`
  std::int64_t rejected = 0;  // records (spans / data points / log records) of the body rejected, each counted in
                              // ParseStats with its reason
  std::string first_reject;   // the first rejection's message ("" when none), for OTLP partial-success error_message
};

// Decodes OTLP export requests into records, interning names into `catalog`.
// Every problem is counted in `stats` (ParseStats::reject with `origin` as
// the file and `line`, 0 for none): a rejected record under its reason
// (missing_field, missing_entity, bad_time, bad_duration, bad_otlp), a body
// that is not a request (ok=false) once under bad_json, bad_protobuf,
// unknown_object or wrong_signal. With stats.strict the first one throws
// InvalidInput, as for the file readers; otherwise nothing throws and no
// input crashes the decoder. Records are appended in request order (not
// sorted by time); `counts` counts them as the readers do.
// Not thread-safe: one decoder per thread or an external lock.
class OtlpDecoder {
 public:
  OtlpDecoder(Catalog& catalog, ParseStats& stats, ReadCounts& counts);

  // OTLP/JSON. `signal`: what the body must hold (a /v1/traces body with
  // resourceMetrics is rejected: ok=false); an empty object is an empty
  // request, unknown members are ignored (as OTLP/JSON asks).
  OtlpDecodeResult decode_json(std::string_view body, OtlpSignal signal, std::vector<Record>& out,
                               const std::string& origin = "request", std::int64_t line = 0);
  // OTLP/JSON of any of the three signals (the otlp file reader's lines): the
  // arrays present and wanted (`metrics`, `traces`, `logs`) are decoded, the
  // others skipped; a body with none of them is ok=false (unknown_object).
  OtlpDecodeResult decode_json_any(std::string_view body, std::vector<Record>& out, const std::string& origin,
                                   std::int64_t line, bool metrics = true, bool traces = true, bool logs = true);
  // OTLP/protobuf (binary). Same records as the JSON form of the same request:
  // ids (bytes) become lower-case hex, an empty or all-zero parent is a root.
  OtlpDecodeResult decode_protobuf(std::string_view body, OtlpSignal signal, std::vector<Record>& out,
                                   const std::string& origin = "request");

 private:
  Catalog& catalog_;
  ParseStats& stats_;
  ReadCounts& counts_;
};

// Encoders (for the load generator, replay and tests): the records of one
// signal (the others in `records` are ignored) -> one export request body.
// Resources: one per entity, in order of first appearance (pods carry
// k8s.pod.name, service.name of their service and k8s.node.name when known;
// services service.name; nodes host.name; instances come back as pods).
// Metric points become gauge data points named by the KPI (one metric per
// KPI and entity). Span status: ERROR when `error`, OK when not but the
// status code alone would say error, else unset; `status_code` goes to
// http.response.status_code (>= 100) or rpc.grpc.status_code. Ids are hex
// strings in JSON and their bytes in protobuf (ids that are not hex travel
// as the bytes of their text, so they decode to the hex of that text).
std::string encode_otlp_json(const std::vector<Record>& records, const Catalog& catalog, OtlpSignal signal);
std::string encode_otlp_protobuf(const std::vector<Record>& records, const Catalog& catalog, OtlpSignal signal);

// The response body to an export request, per OTLP/HTTP: Export<Signal>ServiceResponse
// with partial_success { rejected_spans | rejected_data_points | rejected_log_records, error_message }
// set when `rejected` > 0 or `message` is not empty (a full success leaves it
// unset: an empty message, "{}" in JSON). JSON uses the proto3 JSON mapping:
// lowerCamelCase names, int64 as a decimal string:
// {"partialSuccess":{"rejectedSpans":"2","errorMessage":"span without spanId"}}.
std::string encode_otlp_response(OtlpSignal signal, std::int64_t rejected, const std::string& message, bool protobuf);

}  // namespace rslicer
