// The nezha reader (ingest/source.h, format "nezha") on one day folder of
// up to five files. The input is split into files on "\n@@\n" lines; each
// part's first byte picks the file (pod metrics, front_service metrics, a
// trace file, a log file, the fault list) and whether the file's header is
// put in front of the rest (otherwise the part brings its own).
#include <string>

#include "fuzz_target.h"
#include "ingest/source.h"

namespace {

struct Kind {
  const char* path;  // inside the day folder
  const char* header;
};
constexpr Kind kKinds[] = {
    {"metric/ts-auth-service-7f8d7d756d-k7b9j_metric.csv",
     "Time,TimeStamp,PodName,CpuUsageRate(%),MemoryUsageRate(%),NetworkReceiveBytes\n"},
    {"metric/front_service.csv", "Time,TimeStamp,ServiceName,SuccessRate(%),LatencyP50(s)\n"},
    {"trace/08_00_trace.csv",
     "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"},
    {"log/08_00_log.csv", "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n"},
    {"2023-01-29-fault_list.json", ""},
};
constexpr unsigned kNumKinds = sizeof(kKinds) / sizeof(kKinds[0]);

}  // namespace

RSLICER_FUZZ_TARGET(nezha) {
  const std::string dir = fuzz::scratch_dir();
  const std::string day = dir + "/rca_data/2023-01-29/";
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 5);
  bool strict = false;
  int n = 0;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    const unsigned sel = static_cast<unsigned char>(part[0] - '0');
    const Kind& kind = kKinds[sel % kNumKinds];
    const bool add_header = (sel / kNumKinds) % 2 == 1;
    strict = strict || sel >= 0x80;
    part.remove_prefix(1);
    std::string path = day + kind.path;
    // Later parts get their own file name (another pod, another minute).
    if (n++ > 0 && kind.header[0] != '\0') path.insert(path.rfind('/') + 1, std::to_string(n) + "0_");
    fuzz::write_file(path, std::string(add_header ? kind.header : "").append(part));
  }
  fuzz::read_dataset(dir, "nezha", strict);
  return 0;
}
