// rslicer simulate --out DIR --format nezha|aiops22|otlp [--services N] [--hours H]
//                  [--faults F] [--seed S] [--config FILE] [--json] [--plain]
// Simulates a microservice system with injected, labelled faults and writes
// its metrics, traces, logs and labels in one of the formats the readers
// accept. Prints the simulator's own counts (what `rslicer inspect` should
// report on DIR).
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/errors.h"
#include "core/progress.h"
#include "ingest/writer.h"
#include "sim/simulator.h"

namespace {

struct SimulateFlags {
  std::string out;
  std::string format = "nezha";
  std::string config_path;
  std::int32_t services = 0;
  double hours = 0;
  std::int32_t faults = 0;
  std::uint64_t seed = 0;
  bool json = false;
  bool plain = false;
  CLI::Option* services_opt = nullptr;
  CLI::Option* hours_opt = nullptr;
  CLI::Option* faults_opt = nullptr;
  CLI::Option* seed_opt = nullptr;
};

nlohmann::ordered_json counts_json(const rslicer::sim::SimCounts& c, const std::string& out, const std::string& format,
                                   double sim_s, double write_s) {
  nlohmann::ordered_json j;
  j["out"] = out;
  j["format"] = format;
  j["metrics"] = {{"points", c.metric_points}, {"rows", c.metric_rows}, {"entities", c.pods}};
  j["traces"] = {{"spans", c.spans}, {"traces", c.traces}, {"error_spans", c.error_spans}};
  j["logs"] = {{"records", c.log_records}, {"by_level", c.logs_by_level}};
  j["faults"] = c.faults;
  j["faults_by_type"] = c.faults_by_type;
  j["topology"] = {{"services", c.services}, {"pods", c.pods}, {"nodes", c.nodes}};
  j["seconds"] = {{"simulate", sim_s}, {"write", write_s}};
  return j;
}

RSLICER_COMMAND(
    "simulate", "Simulate a microservice system with labelled faults and write its telemetry in a reader format", 40,
    [](CLI::App& sub) {
      auto f = std::make_shared<SimulateFlags>();
      sub.add_option("--out", f->out, "Output folder (created)")->required();
      sub.add_option("--format", f->format, "nezha | aiops22 | otlp")
          ->default_val("nezha")
          ->check(CLI::IsMember({"nezha", "aiops22", "otlp"}));
      f->services_opt =
          sub.add_option("--services", f->services, "Services, gateway and back ends included (default 12)");
      f->hours_opt = sub.add_option("--hours", f->hours, "Simulated hours (default 2)");
      f->faults_opt = sub.add_option("--faults", f->faults, "Injected faults (default 6)");
      f->seed_opt = sub.add_option("--seed", f->seed, "Random seed (default 42)");
      sub.add_option("--config", f->config_path,
                     "JSON file of simulator settings (docs/simulator.md); the flags above override it");
      sub.add_flag("--json", f->json, "Print the counts as one JSON object");
      sub.add_flag("--plain", f->plain, "Write uncompressed files (default: gzip)");
      return [f]() {
        using namespace rslicer;
        sim::SimConfig config = f->config_path.empty() ? sim::SimConfig{} : sim::load_sim_config(f->config_path);
        if (f->services_opt->count()) config.services = f->services;
        if (f->hours_opt->count()) config.hours = f->hours;
        if (f->faults_opt->count()) config.faults = f->faults;
        if (f->seed_opt->count()) config.seed = f->seed;
        sim::validate(config);

        const auto t0 = std::chrono::steady_clock::now();
        sim::SimResult result;
        {
          std::unique_ptr<Progress> bar;
          result = sim::simulate(config, [&bar](std::int64_t done, std::int64_t total) {
            if (!bar) bar = std::make_unique<Progress>("simulate", total);
            bar->update(done, cat(done, "/", total, " simulated hours"));
          });
          if (bar) bar->finish();
        }
        const auto t1 = std::chrono::steady_clock::now();
        {
          Progress bar("write " + f->format, 0);
          bar.update(0, cat(result.counts.spans, " spans, ", result.counts.log_records, " log lines, ",
                            result.counts.metric_points, " metric points"));
          WriteOptions wo;
          wo.gzip = !f->plain;
          write_dataset(f->out, f->format, result.data, wo);
          bar.finish();
        }
        const auto t2 = std::chrono::steady_clock::now();
        const double sim_s = std::chrono::duration<double>(t1 - t0).count();
        const double write_s = std::chrono::duration<double>(t2 - t1).count();
        const auto& c = result.counts;
        if (f->json) {
          std::printf("%s\n", counts_json(c, f->out, f->format, sim_s, write_s).dump(2).c_str());
          return 0;
        }
        std::printf("simulated %d services (%d pods on %d nodes), %.2f h from %s, seed %llu\n", c.services, c.pods,
                    c.nodes, config.hours, format_time(config.start).c_str(),
                    static_cast<unsigned long long>(config.seed));
        std::printf("wrote %s (%s) in %.1f s (simulation %.1f s)\n", f->out.c_str(), f->format.c_str(), write_s, sim_s);
        std::printf("metrics: %lld points in %lld pod rows\n", static_cast<long long>(c.metric_points),
                    static_cast<long long>(c.metric_rows));
        std::printf("traces:  %lld spans in %lld traces (%lld error spans)\n", static_cast<long long>(c.spans),
                    static_cast<long long>(c.traces), static_cast<long long>(c.error_spans));
        std::printf("logs:    %lld records", static_cast<long long>(c.log_records));
        for (const auto& [level, n] : c.logs_by_level)
          std::printf(", %s %lld", level.c_str(), static_cast<long long>(n));
        std::printf("\nfaults:  %lld", static_cast<long long>(c.faults));
        for (const auto& [type, n] : c.faults_by_type)
          std::printf(", %s %lld", type.c_str(), static_cast<long long>(n));
        std::printf("\n");
        for (const auto& fe : result.data.faults)
          std::printf("  %s  %-15s %s\n", format_time(fe.start).c_str(), fe.fault_type.c_str(), fe.root_cause.c_str());
        return 0;
      };
    });

}  // namespace
