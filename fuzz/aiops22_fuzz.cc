// The aiops22 reader (ingest/source.h, format "aiops22") on a folder of up
// to four CSV files. The input is split into files on "\n@@\n" lines; each
// part's first byte picks the header put in front of the rest (or none, so
// the header itself is fuzzed too) and the folder the file lies in (which
// decides what cmdb_id means for metrics).
#include <string>

#include "fuzz_target.h"
#include "ingest/source.h"

namespace {

constexpr const char* kHeaders[] = {
    "",  // the part brings its own header
    "timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n",
    "timestamp,cmdb_id,kpi_name,value\n",
    "log_id,timestamp,cmdb_id,log_name,value\n",
    "timestamp,level,cmdb_id,failure_type\n",
    "service,timestamp,rr,sr,mrt,count\n",
};
constexpr const char* kFolders[] = {"", "metric/container/", "metric/node/", "metric/service/", "groundtruth/"};

}  // namespace

RSLICER_FUZZ_TARGET(aiops22) {
  const std::string dir = fuzz::scratch_dir();
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 4);
  int n = 0;
  bool strict = false;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    const unsigned sel = static_cast<unsigned char>(part[0] - '0');
    const unsigned header = sel % 6;
    const unsigned folder = (sel / 6) % 5;
    strict = strict || sel >= 0x80;
    part.remove_prefix(1);
    fuzz::write_file(dir + "/" + kFolders[folder] + "f" + std::to_string(n++) + ".csv",
                     std::string(kHeaders[header]).append(part));
  }
  fuzz::read_dataset(dir, "aiops22", strict);
  return 0;
}
