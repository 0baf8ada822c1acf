// bench_ingest [DATA_DIR]: reads and slices a whole dataset (default: the
// TrainTicket data in ../shared) and compares with pandas.read_csv parsing
// the same files, measured in the same run. Prints records/s, the ratio and
// peak memory. Run: build/bench/bench_ingest ../shared/data/trainticket
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "core/progress.h"
#include "core/task_pool.h"
#include "ingest/source.h"
#include "logparse/drain.h"
#include "slice/slice.h"

#ifndef RSLICER_SOURCE_DIR
#define RSLICER_SOURCE_DIR "."
#endif

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

struct Run {
  double seconds = 0;
  std::int64_t records = 0, slices = 0, rows = 0;
};

// Reads every record and drops it: the readers' share of read + slice.
Run read_only(const std::string& dir) {
  using namespace rslicer;
  const auto t0 = std::chrono::steady_clock::now();
  auto source = open_source(dir, "", rslicer::ReadOptions{});
  Run run;
  auto stream = source->open();
  RecordBatch batch;
  while (stream->next_batch(batch)) {
    run.records += static_cast<std::int64_t>(batch.size());
    batch.clear();
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const ReadCounts& c = source->counts();
  run.rows = c.metric_rows + c.spans + c.log_records;
  return run;
}

Run read_and_slice(const std::string& dir, bool templates, bool read_ahead, int parse_threads = -1) {
  using namespace rslicer;
  const auto t0 = std::chrono::steady_clock::now();
  ReadOptions read_options;
  read_options.parse_threads = parse_threads;
  auto source = open_source(dir, "", read_options);
  DrainMiner miner;
  Run run;
  RecordHooks hook;
  if (templates) hook.log = [&](LogRecord& l) { l.template_id = static_cast<Id>(miner.add(l.message)); };
  SliceOptions options;
  options.read_ahead = read_ahead;
  const SliceStats st = slice_source(*source, options, [&](Slice&&) {}, hook);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.records = st.records_in;
  run.slices = st.slices;
  const ReadCounts& c = source->counts();
  run.rows = c.metric_rows + c.spans + c.log_records;
  return run;
}

// Median of three runs (each reads the files again; the page cache is warm after the first).
template <typename F>
Run median_of_3(F run) {
  Run r[3] = {run(), run(), run()};
  std::sort(std::begin(r), std::end(r), [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
  return r[1];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : std::string(RSLICER_SOURCE_DIR) + "/../shared/data/trainticket";
  rslicer::Progress::set_global_enabled(false);
  try {
    std::printf("dataset: %s\n", dir.c_str());
    const Run single = median_of_3([&] { return read_and_slice(dir, false, false, 0); });
    const Run reading = median_of_3([&] { return read_only(dir); });
    const Run plain = median_of_3([&] { return read_and_slice(dir, false, false); });
    const double rss_plain = peak_rss_mb();
    const Run ahead = median_of_3([&] { return read_and_slice(dir, false, true); });
    const Run mined = median_of_3([&] { return read_and_slice(dir, true, true); });
    const double rss = peak_rss_mb();
    // Debian's interpreter: python3-pandas is installed for it, not for other pythons on PATH.
    const std::string cmd = std::string("/usr/bin/python3 ") + RSLICER_SOURCE_DIR + "/bench/pandas_baseline.py '" + dir + "'";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = p ? pclose(p) : -1;
    if (rc != 0) {
      std::fprintf(stderr, "pandas baseline failed (python3-pandas installed?): %s\n", out.c_str());
      return 1;
    }
    const auto pandas = nlohmann::json::parse(out);
    const double pandas_s = pandas["seconds"].get<double>();
    std::printf("%-40s %10s %12s %12s %10s\n", "run", "seconds", "rows", "rows/s", "vs pandas");
    auto row = [&](const char* name, double s, double rows) {
      std::printf("%-40s %10.2f %12.0f %12.0f %9.2fx\n", name, s, rows, rows / s, pandas_s / s);
    };
    row("pandas.read_csv (parse only)", pandas_s, pandas["rows"].get<double>());
    row("rslicer read + slice, one thread", single.seconds, static_cast<double>(single.rows));
    row("rslicer read only (parse pool)", reading.seconds, static_cast<double>(reading.rows));
    row("rslicer read + slice (parse pool)", plain.seconds, static_cast<double>(plain.rows));
    row("rslicer read + slice (+ merge thread)", ahead.seconds, static_cast<double>(ahead.rows));
    row("rslicer inspect path (+ templates)", mined.seconds, static_cast<double>(mined.rows));
    std::printf("rslicer rows: median of 3 runs; parse pool: %u threads (hardware threads, at most 8)\n",
                static_cast<unsigned>(rslicer::TaskPool::default_threads()));
    std::printf("records streamed: %lld (metric points, spans, log lines), slices: %lld\n",
                static_cast<long long>(plain.records), static_cast<long long>(plain.slices));
    std::printf("peak RSS: rslicer %.0f MB (read + slice %.0f MB), pandas %.0f MB\n", rss, rss_plain,
                pandas["peak_rss_mb"].get<double>());
  } catch (const rslicer::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
