// sim_bench [--services N] [--hours H] [--threads T] [--write FORMAT] [--out DIR]
//
// Times the simulator on "a day of 50 services" (issue 6: under a minute) and
// prints records/s. Baselines measured in the same run:
//  - the same simulation on one thread (the multi-thread speed-up);
//  - the streaming source (open_simulation), which holds one hour at a time;
//  - with --write, write_dataset() of the result (the writer's share of
//    `rslicer simulate`), with the bytes it wrote.
// Peak resident memory is read from /proc/self/status at the end.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "ingest/writer.h"
#include "sim/sim_source.h"
#include "sim/simulator.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds of this process (all threads): on a shared machine wall time
// depends on the neighbours, CPU time much less.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
  return -1;
}

std::uintmax_t folder_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

struct SimCountsLite {
  std::int64_t metric_points = 0, spans = 0, logs = 0;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace rslicer;
  sim::SimConfig config;
  config.services = 50;
  config.hours = 24;
  config.faults = 24;
  std::string write_format, out_dir = "/tmp/rslicer_sim_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--services")
      config.services = std::atoi(v);
    else if (flag == "--hours")
      config.hours = std::atof(v);
    else if (flag == "--faults")
      config.faults = std::atoi(v);
    else if (flag == "--threads")
      config.threads = std::atoi(v);
    else if (flag == "--write")
      write_format = v;
    else if (flag == "--out")
      out_dir = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 1;
    }
  }
  const unsigned threads =
      config.threads > 0 ? static_cast<unsigned>(config.threads) : std::thread::hardware_concurrency();
  std::printf("sim_bench: %d services, %.1f h, %d faults, %u threads\n", config.services, config.hours, config.faults,
              threads);

  // 1. baseline: one thread (released before the main run, so peak memory is one simulation's)
  double t_one = 0, cpu_one = 0;
  SimCountsLite one_counts;
  if (threads > 1) {
    sim::SimConfig one = config;
    one.threads = 1;
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    const sim::SimResult r1 = sim::simulate(one);
    t_one = seconds_since(t0);
    cpu_one = cpu_seconds() - cpu0;
    one_counts = {r1.counts.metric_points, r1.counts.spans, r1.counts.log_records};
  }

  // 2. simulate() on all threads
  auto t0 = std::chrono::steady_clock::now();
  double cpu0 = cpu_seconds();
  sim::SimResult r = sim::simulate(config);
  const double t_multi = seconds_since(t0);
  const double cpu_multi = cpu_seconds() - cpu0;
  const auto& c = r.counts;
  const double records = static_cast<double>(c.metric_points + c.spans + c.log_records);
  std::printf("records: %lld metric points, %lld spans (%lld traces), %lld log lines, %lld faults; %d pods\n",
              static_cast<long long>(c.metric_points), static_cast<long long>(c.spans),
              static_cast<long long>(c.traces), static_cast<long long>(c.log_records), static_cast<long long>(c.faults),
              c.pods);
  std::printf(
      "simulate(), %u threads: %.2f s wall (%.2f s CPU), %.2f M records/s, %.0fx real time, %.1f%% of the "
      "60 s budget\n",
      threads, t_multi, cpu_multi, records / t_multi / 1e6, config.hours * 3600 / t_multi, 100 * t_multi / 60);
  if (threads > 1) {
    const bool same =
        one_counts.spans == c.spans && one_counts.logs == c.log_records && one_counts.metric_points == c.metric_points;
    std::printf("simulate(), 1 thread:  %.2f s wall (%.2f s CPU), %.2f M records/s; speed-up %.2fx; same output: %s\n",
                t_one, cpu_one, records / t_one / 1e6, t_one / t_multi, same ? "yes" : "NO");
  }

  // 3. streaming source, one hour in memory at a time
  {
    t0 = std::chrono::steady_clock::now();
    cpu0 = cpu_seconds();
    auto src = sim::open_simulation(config);
    auto stream = src->open();
    Record rec;
    std::int64_t n = 0;
    while (stream->next(rec)) ++n;
    const double t_stream = seconds_since(t0);
    std::printf(
        "open_simulation() stream, 1 thread: %.2f s wall (%.2f s CPU), %.2f M records/s (%lld records; "
        "ratio to simulate(): %.2fx)\n",
        t_stream, cpu_seconds() - cpu0, static_cast<double>(n) / t_stream / 1e6, static_cast<long long>(n),
        t_stream / t_multi);
  }

  // 4. writing
  if (!write_format.empty()) {
    std::filesystem::remove_all(out_dir);
    t0 = std::chrono::steady_clock::now();
    cpu0 = cpu_seconds();
    write_dataset(out_dir, write_format, r.data, WriteOptions{});
    const double t_write = seconds_since(t0);
    const double cpu_write = cpu_seconds() - cpu0;
    const double mb = static_cast<double>(folder_bytes(out_dir)) / 1e6;
    std::printf(
        "write_dataset(%s, gzip): %.2f s wall (%.2f s CPU), %.0f MB written; simulate + write = %.1f s "
        "(%.1fx simulate alone)\n",
        write_format.c_str(), t_write, cpu_write, mb, t_multi + t_write, (t_multi + t_write) / t_multi);
  }
  std::printf("peak RSS: %ld MB\n", peak_rss_mb());
  return 0;
}
