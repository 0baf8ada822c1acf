// rslicer eval --data DIR [--format F] [--model MODEL_DIR] --out REPORT_DIR [--split time|time-per-day|leave-one-day-out]
#include <cstdio>
#include <memory>

#include "command.h"
#include "data_path.h"
#include "eval/experiment.h"
#include "eval/report.h"

namespace {

RSLICER_COMMAND("eval",
                "Evaluate anomaly detection, triage and root cause localisation against the baselines; writes "
                "metrics.json and report.html",
                40, [](CLI::App& sub) {
                  auto o = std::make_shared<rslicer::eval::ExperimentOptions>();
                  sub.add_option("--data", o->data_path, "Dataset folder (default: the bundled sample)");
                  sub.add_option("--format", o->format, "nezha | aiops22 | otlp | auto")->default_val("auto");
                  sub.add_option("--model", o->model_dir,
                                 "Trained model folder (default: train one per fold on its training part)");
                  sub.add_option("--out", o->out_dir, "Report folder (metrics.json, report.html)")->required();
                  sub.add_option("--split", o->split, "time | time-per-day | leave-one-day-out")->default_val("time");
                  sub.add_option("--config", o->config_path, "Training config JSON (encoder, losses, budget)");
                  sub.add_option("--train-minutes", o->train_minutes, "Training budget per fold in minutes")
                      ->default_val(4.0);
                  sub.add_option("--ad-view", o->ad_view,
                                 "Embeddings for anomaly detection: auto | all | metrics")->default_val("auto");
                  sub.add_option("--spot-q", o->harness.spot.q, "SPOT risk q")->default_val(0.1);
                  sub.add_option("--spot-level", o->harness.spot.level, "SPOT initial quantile")->default_val(0.95);
                  sub.add_option("--states", o->harness.partition.k, "Number of runtime states (0 = by silhouette)")
                      ->default_val(0);
                  sub.add_option("--bootstrap", o->harness.bootstrap_samples, "Bootstrap resamples")->default_val(1000);
                  sub.add_option("--seed", o->harness.seed, "Seed of k-means and the bootstrap")->default_val(1234);
                  return [o]() {
                    if (o->data_path.empty()) o->data_path = rslicer::cli::default_data_path();
                    o->harness.partition.seed = o->harness.seed;
                    auto r = rslicer::eval::run_experiment(*o);
                    std::printf("%s", rslicer::eval::results_table(r.metrics).c_str());
                    std::printf("report: %s\n", r.report_html.c_str());
                    return 0;
                  };
                });

}  // namespace
