// rslicer simulate --out DIR --format nezha|aiops22|otlp [--services N] [--hours H]
//                  [--faults F] [--seed S] [--config FILE] [--set KEY=VALUE] [--json] [--plain]
// Simulates a microservice system with injected, labelled faults and writes
// its metrics, traces, logs and labels in one of the formats the readers
// accept. Prints the simulator's own counts (what `rslicer inspect` should
// report on DIR).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/simulate.h"
#include "command.h"
#include "config_flags.h"

namespace {

struct SimulateFlags {
  std::string out;
  std::string format = "nezha";
  std::string config_path;
  bool json = false;
  bool plain = false;
  rslicer::cli::ConfigFlags<rslicer::sim::SimConfig> flags;
};

nlohmann::ordered_json counts_json(const rslicer::SimulateReport& r, const std::string& out, const std::string& format) {
  const auto& c = r.counts;
  nlohmann::ordered_json j;
  j["out"] = out;
  j["format"] = format;
  j["metrics"] = {{"points", c.metric_points}, {"rows", c.metric_rows}, {"entities", c.pods}};
  j["traces"] = {{"spans", c.spans}, {"traces", c.traces}, {"error_spans", c.error_spans}};
  j["logs"] = {{"records", c.log_records}, {"by_level", c.logs_by_level}};
  j["faults"] = c.faults;
  j["faults_by_type"] = c.faults_by_type;
  j["topology"] = {{"services", c.services}, {"pods", c.pods}, {"nodes", c.nodes}};
  j["seconds"] = {{"simulate", r.simulate_seconds}, {"write", r.write_seconds}};
  return j;
}

RSLICER_COMMAND(
    "simulate", "Simulate a microservice system with labelled faults and write its telemetry in a reader format", 40,
    [](CLI::App& sub) {
      auto f = std::make_shared<SimulateFlags>();
      sub.add_option("--out", f->out, "Output folder (created; must be new or empty)")->required();
      sub.add_option("--format", f->format, "nezha | aiops22 | otlp")
          ->default_val("nezha")
          ->check(CLI::IsMember({"nezha", "aiops22", "otlp"}));
      f->flags.bind(sub, "--services", "services");
      f->flags.bind(sub, "--hours", "hours");
      f->flags.bind(sub, "--faults", "faults");
      f->flags.bind(sub, "--seed", "seed");
      f->flags.add_set(sub);
      sub.add_option("--config", f->config_path,
                     "JSON file of simulator settings (docs/simulator.md); the flags above override it");
      sub.add_flag("--json", f->json, "Print the counts as one JSON object");
      sub.add_flag("--plain", f->plain, "Write uncompressed files (default: gzip)");
      return [f]() {
        using namespace rslicer;
        sim::SimConfig config = f->config_path.empty() ? sim::SimConfig{} : sim::load_sim_config(f->config_path);
        f->flags.apply(config);
        SimulateReport r = simulate_dataset(config, f->out, f->format, !f->plain, true);
        const auto& c = r.counts;
        if (f->json) {
          std::printf("%s\n", counts_json(r, f->out, f->format).dump(2).c_str());
          return 0;
        }
        std::printf("simulated %d services (%d pods on %d nodes), %.2f h from %s, seed %llu\n", c.services, c.pods,
                    c.nodes, config.hours, format_time(config.start).c_str(),
                    static_cast<unsigned long long>(config.seed));
        std::printf("wrote %s (%s) in %.1f s (simulation %.1f s)\n", f->out.c_str(), f->format.c_str(),
                    r.write_seconds, r.simulate_seconds);
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
        for (const auto& fe : r.faults)
          std::printf("  %s  %-15s %s\n", format_time(fe.start).c_str(), fe.fault_type.c_str(), fe.root_cause.c_str());
        return 0;
      };
    });

}  // namespace
