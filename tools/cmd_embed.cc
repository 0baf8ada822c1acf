// rslicer embed --model MODEL_DIR --data DIR --out FILE.csv [--format F]
// One row per slice: start,end (Unix seconds),e0..e{D-1} (the state embedding).
#include <chrono>
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/errors.h"
#include "data_path.h"
#include "train/trainer.h"

namespace {

struct EmbedFlags {
  std::string model;
  std::string data;
  std::string format = "auto";
  std::string out;
  bool strict = false;
};

RSLICER_COMMAND("embed", "Embed every slice of a dataset with a trained model and write start,end,e0,... CSV", 31,
                [](CLI::App& sub) {
                  auto f = std::make_shared<EmbedFlags>();
                  sub.add_option("--model", f->model, "Model folder written by `rslicer train`")->required();
                  sub.add_option("--data", f->data, "Dataset folder (default: the bundled sample)");
                  sub.add_option("--format", f->format, "nezha | aiops22 | otlp | auto")->default_val("auto");
                  sub.add_option("--out", f->out, "CSV file to write")->required();
                  sub.add_flag("--strict", f->strict, "Fail on the first malformed record");
                  return [f]() {
                    if (f->data.empty()) f->data = rslicer::cli::default_data_path();
                    auto model = rslicer::EmbeddingModel::load(f->model);
                    at::set_num_threads(model->config().threads);
                    rslicer::ReadOptions read;
                    read.strict = f->strict;
                    auto data = rslicer::prepare(f->data, f->format, model->prepare_options(read));
                    auto t0 = std::chrono::steady_clock::now();
                    auto emb = model->embed(data.slices, true);
                    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                    FILE* out = std::fopen(f->out.c_str(), "w");
                    if (!out) throw rslicer::IoError(rslicer::cat("cannot write ", f->out));
                    std::int64_t dim = emb.empty() ? model->config().encoder.embed_dim
                                                   : static_cast<std::int64_t>(emb.front().state.size());
                    std::fputs("start,end", out);
                    for (std::int64_t k = 0; k < dim; ++k) std::fprintf(out, ",e%lld", static_cast<long long>(k));
                    std::fputc('\n', out);
                    for (const auto& e : emb) {
                      std::fprintf(out, "%lld,%lld", static_cast<long long>(e.start / rslicer::kUsPerSecond),
                                   static_cast<long long>(e.end / rslicer::kUsPerSecond));
                      for (float v : e.state) std::fprintf(out, ",%.6g", v);
                      std::fputc('\n', out);
                    }
                    if (std::fclose(out) != 0) throw rslicer::IoError(rslicer::cat("write failed: ", f->out));
                    std::fprintf(stderr, "%zu slices embedded in %.2f s (%.0f slices/s; reading and featurising took %.1f s) -> %s\n",
                                 emb.size(), s, s > 0 ? emb.size() / s : 0.0, data.seconds, f->out.c_str());
                    return 0;
                  };
                });

}  // namespace
