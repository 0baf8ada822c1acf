#include "api/simulate.h"

#include <chrono>
#include <filesystem>
#include <memory>

#include "core/errors.h"
#include "core/progress.h"
#include "ingest/writer.h"

namespace rslicer {

SimulateReport simulate_dataset(const sim::SimConfig& config, const std::string& out_dir, const std::string& format,
                                bool gzip, bool progress) {
  sim::validate(config);
  namespace fs = std::filesystem;
  std::error_code ec;
  RSLICER_CHECK(!fs::exists(out_dir, ec) || (fs::is_directory(out_dir, ec) && fs::is_empty(out_dir, ec)), InvalidInput,
                out_dir, ": exists and is not an empty folder; simulate writes into a new or empty folder (two runs in "
                "one folder would mix their files and labels)");
  SimulateReport rep;
  const auto t0 = std::chrono::steady_clock::now();
  sim::SimResult result;
  {
    std::unique_ptr<Progress> bar;
    result = sim::simulate(config, [&bar, progress](std::int64_t done, std::int64_t total) {
      if (!bar) bar = std::make_unique<Progress>("simulate", total, progress);
      bar->update(done, cat(done, "/", total, " simulated hours"));
    });
    if (bar) bar->finish();
  }
  const auto t1 = std::chrono::steady_clock::now();
  {
    Progress bar("write " + format, 0, progress);
    bar.update(0, cat(result.counts.spans, " spans, ", result.counts.log_records, " log lines, ",
                      result.counts.metric_points, " metric points"));
    WriteOptions wo;
    wo.gzip = gzip;
    write_dataset(out_dir, format, result.data, wo);
    bar.finish();
  }
  const auto t2 = std::chrono::steady_clock::now();
  rep.counts = result.counts;
  rep.faults = result.data.faults;
  rep.simulate_seconds = std::chrono::duration<double>(t1 - t0).count();
  rep.write_seconds = std::chrono::duration<double>(t2 - t1).count();
  return rep;
}

}  // namespace rslicer
