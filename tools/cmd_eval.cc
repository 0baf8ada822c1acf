// rslicer eval --data DIR [--format F] [--model MODEL_DIR] --out REPORT_DIR
//              [--split time|time-per-day|leave-one-day-out] [--config FILE] [--set KEY=VALUE] ...
// rslicer demo [--data DIR] [--out DIR] [--part P]: the same on the bundled sample and on a simulated system with
// continuous telemetry, with a short results table for each.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/simulate.h"
#include "command.h"
#include "config_flags.h"
#include "core/errors.h"
#include "data_path.h"
#include "eval/eval.h"
#include "eval/report.h"
#include "read_flags.h"

namespace {

using rslicer::TrainConfig;
using rslicer::eval::EvalOptions;

struct EvalFlags {
  rslicer::eval::EvalRequest request;
  std::string config_path;
  TrainConfig base;  // defaults of this command (shown in --help)
  std::unique_ptr<rslicer::cli::ConfigFlags<TrainConfig>> train;
  std::unique_ptr<rslicer::cli::ConfigFlags<EvalOptions>> eval;
};

// Flags shared by eval and demo; `minutes` and `bootstrap` are the command's defaults.
std::shared_ptr<EvalFlags> add_eval_flags(CLI::App& sub, double minutes, int bootstrap, const std::string& split,
                                          bool needs_out) {
  auto f = std::make_shared<EvalFlags>();
  f->base.max_minutes = minutes;
  f->base.heads.spot.q = 0.1;  // the published protocol (docs/evaluation.md)
  EvalOptions eo;
  eo.bootstrap_samples = bootstrap;
  f->train = std::make_unique<rslicer::cli::ConfigFlags<TrainConfig>>(f->base);
  f->eval = std::make_unique<rslicer::cli::ConfigFlags<EvalOptions>>(eo);
  auto& rq = f->request;
  rq.split = split;
  rq.options = eo;
  sub.add_option("--data", rq.data_path, "Dataset folder (default: the bundled sample)");
  sub.add_option("--format", rq.format, "nezha | aiops22 | otlp | auto")
      ->default_val("auto")
      ->check(CLI::IsMember({"auto", "nezha", "aiops22", "otlp", "rcaeval", "widecsv"}));
  sub.add_option("--model", rq.model_dir, "Trained model folder (default: train one per fold on its training part)");
  auto* out = sub.add_option("--out", rq.out_dir, "Report folder (metrics.json, report.html)");
  if (needs_out) out->required();
  sub.add_option("--split", rq.split, "time | time-per-day | leave-one-day-out | leave-one-case-out | zero-label")
      ->default_val(split)
      ->check(CLI::IsMember({"time", "time-per-day", "leave-one-day-out", "leave-one-case-out", "zero-label"}));
  sub.add_option("--methods", rq.methods, "Only these methods (comma-separated; default: all)")->delimiter(',');
  sub.add_option("--config", f->config_path, "Model config JSON (encoder, losses, heads; `rslicer config` lists it)");
  f->train->bind(sub, "--train-minutes", "max_minutes", "Training budget per fold in minutes");
  f->train->bind(sub, "--ad-view", "ad_view");
  f->train->bind(sub, "--spot-q", "heads.spot.q", "SPOT risk q (ours and spot_raw)");
  f->train->bind(sub, "--spot-level", "heads.spot.level", "SPOT initial quantile (ours and spot_raw)");
  f->train->bind(sub, "--states", "heads.partition.k", "Number of runtime states (0 = by silhouette)");
  f->train->bind(sub, "--seed", "seed", "The one seed: encoder, k-means, bootstrap");
  f->train->add_set(sub);
  f->eval->bind(sub, "--bootstrap", "bootstrap_samples");
  f->eval->bind(sub, "--rcl-horizon", "rcl_horizon_s", "Root cause: use only data up to t + this many seconds");
  rslicer::cli::add_read_flags(sub, rq.read);
  return f;
}

// The request with the config file and every flag applied; throws InvalidInput before any work.
rslicer::eval::EvalRequest resolve(EvalFlags& f) {
  auto rq = f.request;
  rq.config = f.config_path.empty() ? f.base : rslicer::load_train_config(f.config_path, f.base);
  f.train->apply(rq.config);
  TrainConfig::schema().validate(rq.config);
  f.eval->apply(rq.options);
  rq.options.spot = rq.config.heads.spot;  // the spot_raw baseline thresholds like ours
  if (rq.data_path.empty()) rq.data_path = rslicer::cli::default_data_path();
  return rq;
}

RSLICER_COMMAND("eval",
                "Evaluate anomaly detection, triage and root cause localisation against the baselines; writes "
                "metrics.json and report.html",
                40, [](CLI::App& sub) {
                  auto f = add_eval_flags(sub, 4.0, 1000, "time", true);
                  return [f]() {
                    auto rq = resolve(*f);
                    auto r = rslicer::eval::run_eval(rq);
                    std::printf("%s", rslicer::eval::results_table(r).c_str());
                    std::printf("%s", rslicer::eval::reading_notes(r).c_str());
                    std::printf("report: %s\n", r.report_html.c_str());
                    return 0;
                  };
                });

// The demo's second part: a simulated system whose traces and logs are continuous, so that point-wise anomaly
// detection means something (the bundled sample's traces and logs exist only around its faults, and 65 % of its
// test slices lie in a fault). The simulator's defaults (12 services, seed 42) over two days, one trace in 50
// sampled; the `time` split trains on the first day and the early hours of the second and tests on the rest.
rslicer::sim::SimConfig demo_sim_defaults() {
  rslicer::sim::SimConfig c;
  c.hours = 48;
  c.faults = 32;
  c.trace_sample_rate = 0.02;
  return c;
}

struct DemoFlags {
  std::string part = "auto";
  rslicer::cli::ConfigFlags<rslicer::sim::SimConfig> sim{demo_sim_defaults()};  // --sim-hours, --sim-faults
};

// Writes the simulated system under `dir` unless a complete folder written by an earlier demo with the same
// settings is there. `dir`.json beside it records the settings before the first file is written and marks the
// folder complete after the last, so an interrupted demo's folder is rewritten and a folder the demo did not write
// is never touched.
void simulate_demo_data(const rslicer::sim::SimConfig& config, const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string stamp = dir + ".json";
  const nlohmann::json settings = rslicer::config::to_json(config);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    RSLICER_CHECK(fs::exists(stamp, ec), rslicer::InvalidInput, dir,
                  ": exists and was not written by rslicer demo (no ", stamp, "); choose another --out");
    std::ifstream in(stamp);
    const nlohmann::json had = nlohmann::json::parse(in, nullptr, false);
    if (had.is_object() && had.value("complete", false) && had.value("simulator", nlohmann::json()) == settings) {
      std::fprintf(stderr, "rslicer demo: reusing the simulated system in %s\n", dir.c_str());
      return;
    }
    fs::remove_all(dir);
  }
  auto write_stamp = [&](bool complete) {
    std::ofstream(stamp) << nlohmann::json{{"simulator", settings}, {"complete", complete}}.dump(1) << "\n";
  };
  write_stamp(false);
  std::fprintf(stderr, "rslicer demo: simulating %g h of a %d-service system (seed %llu) into %s\n", config.hours,
               config.services, static_cast<unsigned long long>(config.seed), dir.c_str());
  rslicer::simulate_dataset(config, dir, "otlp", true, true);
  write_stamp(true);
}

void print_demo_part(const rslicer::eval::EvalRequest& rq, const rslicer::eval::EvalResult& r,
                     const std::string& title) {
  std::printf("\n%s\n%s (%s split: %zu train / %zu test cases)\n", title.c_str(), rq.data_path.c_str(),
              rq.split.c_str(), r.train_cases.size(), r.test_cases.size());
  std::printf("%s", rslicer::eval::results_table(r).c_str());
  std::printf("%s", rslicer::eval::reading_notes(r).c_str());
  std::printf("report: %s (%.0f s)\n", r.report_html.c_str(), r.seconds);
}

RSLICER_COMMAND(
    "demo",
    "Train, tune and evaluate on the bundled TrainTicket sample and on a simulated system with continuous "
    "telemetry, and print results against the baselines",
    1, [](CLI::App& sub) {
      auto f = add_eval_flags(sub, 3.0, 500, "time-per-day", false);
      f->request.out_dir = "out/demo";
      auto d = std::make_shared<DemoFlags>();
      sub.add_option("--part", d->part,
                     "sample | simulated | both; auto: both without --data and --model, else only the given data")
          ->default_val("auto")
          ->check(CLI::IsMember({"auto", "sample", "simulated", "both"}));
      d->sim.bind(sub, "--sim-hours", "hours", "Hours of the simulated system");
      d->sim.bind(sub, "--sim-faults", "faults", "Faults injected into the simulated system");
      return [=]() {
        namespace fs = std::filesystem;
        // the bundled sample unless --data or $RSLICER_DATA names other data (cli::default_data_path)
        const bool own_data = !f->request.data_path.empty() || rslicer::cli::data_from_environment();
        const bool own_model = !f->request.model_dir.empty();
        const std::string part = d->part == "auto" ? (own_data || own_model ? "sample" : "both") : d->part;
        auto rq = resolve(*f);
        const std::string out = rq.out_dir;
        rslicer::sim::SimConfig sim = demo_sim_defaults();
        d->sim.apply(sim);
        const std::string sim_data = (fs::path(out) / "simulated-data").string();
        // first, so that settings the simulator cannot meet (too many faults for the hours) fail before any training
        if (part != "sample") simulate_demo_data(sim, sim_data);
        if (part != "simulated") {
          rq.out_dir = part == "both" ? (fs::path(out) / "sample").string() : out;
          std::fprintf(stderr, "rslicer demo: data %s, split %s, report in %s\n", rq.data_path.c_str(),
                       rq.split.c_str(), rq.out_dir.c_str());
          auto r = rslicer::eval::run_eval(rq);
          const std::string sample_note =
              " (real TrainTicket telemetry, for root cause and triage; its traces and logs exist only around the "
              "faults, so its point-wise AD means little; ";
          print_demo_part(rq, r,
                          own_data ? "RuntimeSlicer demo"
                          : part == "both"
                              ? "RuntimeSlicer demo, part 1: the bundled sample" + sample_note + "part 2 shows AD)"
                              : "RuntimeSlicer demo: the bundled sample" + sample_note + "--part simulated shows AD)");
        }
        if (part != "sample") {
          auto sq = rq;
          sq.data_path = sim_data;
          sq.out_dir = (fs::path(out) / "simulated").string();
          sq.format = "otlp";
          sq.split = "time";
          if (own_model)  // a model of other data would judge the simulated system by its profiles
            std::fprintf(stderr, "rslicer demo: the simulated system gets a model of its own (--model is for %s)\n",
                         part == "simulated" ? "other data" : "part 1");
          sq.model_dir.clear();
          auto r = rslicer::eval::run_eval(sq);
          char title[256];
          std::snprintf(title, sizeof title,
                        "%sa simulated system with continuous telemetry (rslicer simulate: %d services, "
                        "%g h, %d faults, seed %llu): anomaly detection with a realistic share of normal "
                        "time",
                        part == "both" ? "RuntimeSlicer demo, part 2: " : "", sim.services, sim.hours, sim.faults,
                        static_cast<unsigned long long>(sim.seed));
          print_demo_part(sq, r, title);
        }
        std::printf(
            "AD: evt = published event-level protocol (inflatable), pt = honest point-wise, "
            "alarmT = fraction of time in alarm, AD-AUC = how well the AD score ranks the test slices, whatever the "
            "threshold (AUROC); RCL: exact entity matching.\n");
        return 0;
      };
    });

}  // namespace
