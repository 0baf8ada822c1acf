// Training speed of the native encoder (docs/performance.md, "Training: the
// dropout mask"): `train_encoder` with the default configuration for a fixed
// number of steps on real slices, three times in one process:
//   - baseline: dropout masks drawn by libtorch (its per-element mt19937);
//   - FastDropout's counter-based masks (the default);
//   - no dropout at all (encoder.dropout = 0), the bound for any mask.
// Prints training slices/s and the ratio to the baseline; the validation pass
// (no dropout) is not part of the rate.
//
//   train_step_bench [--data DIR] [--steps N]
#include <cstdio>
#include <filesystem>
#include <string>

#include "dataset/dataset.h"
#include "dataset/split.h"
#include "model/dropout.h"
#include "train/trainer.h"

using namespace rslicer;

// As in tools/rslicer_main.cc: jemalloc keeps freed pages, so the benchmark trains as `rslicer train` does.
extern "C" {
const char* malloc_conf = "dirty_decay_ms:-1";
}

int main(int argc, char** argv) {
  std::string data = std::string(RSLICER_SOURCE_DIR) + "/data/trainticket-sample";
  int steps = 40;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (a == "--steps" && i + 1 < argc) {
      steps = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: train_step_bench [--data DIR] [--steps N]\n");
      return 1;
    }
  }
  try {
    TrainConfig base;
    base.max_epochs = 1;
    base.steps_per_epoch = steps;
    base.max_minutes = 0;
    PrepareOptions po;
    po.slice = base.slice;
    po.features = base.features;
    Dataset d = prepare(data, "auto", po);
    Split sp = time_split(slice_windows(d.slices), base.split, d.faults);
    TrainingSet ts;
    ts.data = &d;
    ts.train = sp.train;
    std::printf("%s: %zu slices, %zu for training; %d steps of %d slices, %d thread(s)\n", data.c_str(),
                d.slices.size(), sp.train.size(), steps, base.batch_runs * base.run_len, base.threads);
    const std::string out = (std::filesystem::temp_directory_path() / "rslicer-train-step-bench").string();
    auto run = [&](const char* name, bool libtorch_masks, double dropout) {
      use_libtorch_dropout(libtorch_masks);
      TrainConfig c = base;
      c.encoder.dropout = dropout;
      TrainOptions to;
      to.out_dir = out;
      to.progress = false;
      TrainResult r = train_encoder(c, {ts}, to);
      std::filesystem::remove_all(out);
      return std::make_pair(std::string(name), r.slices_per_s);
    };
    const auto baseline = run("libtorch dropout masks (baseline)", true, base.encoder.dropout);
    const auto fast = run("FastDropout masks (default)", false, base.encoder.dropout);
    const auto none = run("no dropout (bound)", false, 0.0);
    use_libtorch_dropout(false);
    for (const auto& [name, rate] : {baseline, fast, none})
      std::printf("  %-36s %7.1f slices/s  %.2fx\n", name.c_str(), rate, rate / baseline.second);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_step_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
