// rslicer train --data DIR --out MODEL_DIR [--config FILE] [--format F] [--resume]
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/errors.h"
#include "data_path.h"
#include "train/trainer.h"

namespace {

struct TrainFlags {
  std::string data;
  std::string format = "auto";
  std::string out;
  std::string config;
  bool resume = false;
  std::int32_t epochs = 0;
  std::uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;
};

RSLICER_COMMAND("train", "Train the runtime-state encoder (URCL) on a dataset and write a model folder", 30,
                [](CLI::App& sub) {
                  auto f = std::make_shared<TrainFlags>();
                  sub.add_option("--data", f->data, "Dataset folder (default: the bundled sample; ignored when the config lists sources)");
                  sub.add_option("--format", f->format, "nezha | aiops22 | otlp | auto")->default_val("auto");
                  sub.add_option("--out", f->out, "Model folder to write")->required();
                  sub.add_option("--config", f->config, "JSON file overriding TrainConfig fields (unknown keys are errors)");
                  sub.add_flag("--resume", f->resume, "Continue from MODEL_DIR/checkpoint after an interruption");
                  sub.add_option("--epochs", f->epochs, "Override max_epochs");
                  f->seed_option = sub.add_option("--seed", f->seed, "Override the seed");
                  return [f]() {
                    rslicer::TrainConfig config;
                    if (!f->config.empty()) config = rslicer::load_train_config(f->config);
                    if (f->epochs > 0) config.max_epochs = f->epochs;
                    if (f->seed_option->count() > 0) config.seed = f->seed;
                    if (config.sources.empty() && f->data.empty()) f->data = rslicer::cli::default_data_path();
                    rslicer::TrainOptions opts;
                    opts.out_dir = f->out;
                    opts.resume = f->resume;
                    auto r = rslicer::train_from_sources(config, f->data, f->format, opts);
                    std::printf("trained %d epochs (best %d, validation loss %.4f) in %.1f s, %.0f slices/s; model %s (%.2f MB)\n",
                                r.epochs, r.best_epoch, r.best_validation_loss, r.seconds, r.slices_per_s,
                                f->out.c_str(), static_cast<double>(r.model_bytes) / 1e6);
                    return 0;
                  };
                });

}  // namespace
