// rslicer embed --model MODEL_DIR --data DIR --out FILE.csv [--format F]
// One row per slice: start,end (Unix seconds),e0..e{D-1} (the state embedding).
#include <cstdio>
#include <memory>

#include "api/pipeline.h"
#include "command.h"
#include "core/errors.h"
#include "data_path.h"
#include "read_flags.h"

namespace {

struct EmbedFlags {
  std::string model;
  std::string data;
  std::string format = "auto";
  std::string out;
  rslicer::ReadOptions read;
};

RSLICER_COMMAND("embed", "Embed every slice of a dataset with a trained model and write start,end,e0,... CSV", 31,
                [](CLI::App& sub) {
                  auto f = std::make_shared<EmbedFlags>();
                  sub.add_option("--model", f->model, "Model folder written by `rslicer train`")->required();
                  sub.add_option("--data", f->data, "Dataset folder (default: the bundled sample)");
                  sub.add_option("--format", f->format, "nezha | aiops22 | otlp | auto")
                      ->default_val("auto")
                      ->check(CLI::IsMember({"auto", "nezha", "aiops22", "otlp", "rcaeval", "widecsv"}));
                  sub.add_option("--out", f->out, "CSV file to write")->required();
                  rslicer::cli::add_read_flags(sub, f->read);
                  return [f]() {
                    using namespace rslicer;
                    if (f->data.empty()) f->data = cli::default_data_path();
                    auto model = EmbeddingModel::load(f->model);
                    EmbedResult r = embed_dataset(*model, f->data, f->format, f->read, true);
                    RSLICER_CHECK(!r.slices.empty(), InvalidInput, f->data, ": no slices to embed (",
                                  r.rejected_records, " records rejected; see rslicer inspect)");
                    FILE* out = std::fopen(f->out.c_str(), "w");
                    if (!out) throw IoError(cat("cannot write ", f->out));
                    std::fputs("start,end", out);
                    for (std::int64_t k = 0; k < r.embed_dim; ++k) std::fprintf(out, ",e%lld", static_cast<long long>(k));
                    std::fputc('\n', out);
                    for (const auto& e : r.slices) {
                      std::fprintf(out, "%lld,%lld", static_cast<long long>(e.start / kUsPerSecond),
                                   static_cast<long long>(e.end / kUsPerSecond));
                      for (float v : e.state) std::fprintf(out, ",%.6g", v);
                      std::fputc('\n', out);
                    }
                    if (std::fclose(out) != 0) throw IoError(cat("write failed: ", f->out));
                    std::fprintf(stderr,
                                 "%zu slices embedded in %.2f s (%.0f slices/s; reading and featurising took %.1f s) "
                                 "-> %s\n",
                                 r.slices.size(), r.embed_seconds,
                                 r.embed_seconds > 0 ? r.slices.size() / r.embed_seconds : 0.0, r.prepare_seconds,
                                 f->out.c_str());
                    return 0;
                  };
                });

}  // namespace
