// rslicer eval --data DIR [--format F] [--model MODEL_DIR] --out REPORT_DIR
//              [--split time|time-per-day|leave-one-day-out] [--config FILE] [--set KEY=VALUE] ...
// rslicer demo [--data DIR] [--out DIR]: the same on the bundled sample, with a short results table.
#include <cstdio>
#include <memory>

#include "command.h"
#include "config_flags.h"
#include "data_path.h"
#include "read_flags.h"
#include "eval/eval.h"
#include "eval/report.h"

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

RSLICER_COMMAND("demo",
                "Train, tune and evaluate on the bundled TrainTicket sample and print results against the baselines",
                1, [](CLI::App& sub) {
                  auto f = add_eval_flags(sub, 3.0, 500, "time-per-day", false);
                  f->request.out_dir = "out/demo";
                  return [f]() {
                    auto rq = resolve(*f);
                    std::fprintf(stderr, "rslicer demo: data %s, split %s, report in %s\n", rq.data_path.c_str(),
                                 rq.split.c_str(), rq.out_dir.c_str());
                    auto r = rslicer::eval::run_eval(rq);
                    std::printf("\nRuntimeSlicer demo on %s (%s split: %zu train / %zu test cases)\n",
                                rq.data_path.c_str(), rq.split.c_str(), r.train_cases.size(), r.test_cases.size());
                    std::printf("%s", rslicer::eval::results_table(r).c_str());
                    std::printf("%s", rslicer::eval::reading_notes(r).c_str());
                    std::printf("AD: evt = published event-level protocol (inflatable), pt = honest point-wise, "
                                "alarmT = fraction of time in alarm; RCL: exact entity matching.\n");
                    std::printf("report: %s (%.0f s)\n", r.report_html.c_str(), r.seconds);
                    return 0;
                  };
                });

}  // namespace
