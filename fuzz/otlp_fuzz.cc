// OTLP decoding (ingest/otlp_decode.h) in both encodings, and the otlp file
// reader. The first byte picks the mode:
//   0      decode_json_any (the file reader's per-line call)
//   1-3    decode_json for traces, metrics, logs (OTLP/HTTP bodies)
//   4-6    decode_protobuf for traces, metrics, logs
//   7      the otlp file reader: part 1 is data.jsonl, part 2 faults.json
// A first byte >= 0x80 (after the '0' offset) also sets ParseStats::strict,
// which turns the first rejection into InvalidInput.
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "ingest/otlp_decode.h"
#include "ingest/source.h"

RSLICER_FUZZ_TARGET(otlp) {
  if (size == 0) return 0;
  const unsigned mode = fuzz::selector(data[0], 8);
  const bool strict = static_cast<unsigned char>(data[0] - '0') >= 0x80;
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  try {
    if (mode == 7) {
      const std::string dir = fuzz::scratch_dir();
      const auto parts = fuzz::split_parts(body, 2);
      fuzz::write_file(dir + "/data.jsonl", parts[0]);
      if (parts.size() > 1) fuzz::write_file(dir + "/faults.json", parts[1]);
      fuzz::read_dataset(dir, "otlp", strict);
      return 0;
    }
    Catalog catalog;
    ParseStats stats;
    stats.strict = strict;
    ReadCounts counts;
    OtlpDecoder decoder(catalog, stats, counts);
    std::vector<Record> out;
    if (mode == 0) {
      decoder.decode_json_any(body, out, "fuzz", 1);
    } else if (mode <= 3) {
      decoder.decode_json(body, static_cast<OtlpSignal>(mode - 1), out);
    } else {
      decoder.decode_protobuf(body, static_cast<OtlpSignal>(mode - 4), out);
    }
    // What was decoded must encode again (replay and the load generator do it).
    for (OtlpSignal s : {OtlpSignal::kTraces, OtlpSignal::kMetrics, OtlpSignal::kLogs}) {
      encode_otlp_json(out, catalog, s);
      encode_otlp_protobuf(out, catalog, s);
    }
  } catch (const Error&) {
  }
  return 0;
}
