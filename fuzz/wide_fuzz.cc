// The wide-CSV readers (ingest/source.h, formats "widecsv" and "rcaeval") on
// a folder of up to four files. The input is split into files on "\n@@\n"
// lines; each part's first byte picks what the file is: a wide CSV with a
// time column (or with its own header), a mapping file (columns.csv), a
// faults.json, an RCAEval logs.csv or traces.csv (with their header or
// not), or an inject_time.txt. Files lie in one RCAEval run folder
// (<service>_<fault>/1/), so the same bytes are read by both formats; a
// selector byte of 0x80 or more turns on strict mode.
#include <string>

#include "fuzz_target.h"

namespace {

struct Kind {
  const char* name;
  const char* header;
};
constexpr Kind kKinds[] = {
    {"data.csv", "time,cart_cpu,cart_latency-50,db-0_mem\n"},
    {"data.csv", ""},
    {"columns.csv", "column,entity,kpi,kind\n"},
    {"faults.json", ""},
    {"logs.csv", "time,timestamp,container_name,message,level\n"},
    {"traces.csv",
     "time,traceID,spanID,serviceName,methodName,operationName,startTimeMillis,startTime,duration,statusCode,"
     "parentSpanID\n"},
    {"inject_time.txt", ""},
    {"metrics.csv", ""},
};
constexpr unsigned kNumKinds = sizeof kKinds / sizeof kKinds[0];

}  // namespace

RSLICER_FUZZ_TARGET(wide) {
  const std::string dir = fuzz::scratch_dir();
  const std::string run = dir + "/cart_cpu/1/";
  bool strict = false;
  for (std::string_view part : fuzz::split_parts(fuzz::as_text(data, size), 4)) {
    if (part.empty()) continue;
    const unsigned sel = static_cast<unsigned char>(part[0] - '0');
    strict = strict || sel >= 0x80;
    const Kind& kind = kKinds[sel % kNumKinds];
    part.remove_prefix(1);
    fuzz::write_file(run + kind.name, std::string(kind.header).append(part));
  }
  fuzz::read_dataset(dir, "rcaeval", strict);
  fuzz::read_dataset(run + "data.csv", "widecsv", strict);
  fuzz::read_dataset(dir, "widecsv", strict);
  return 0;
}
