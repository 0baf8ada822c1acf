// rslicer config [--json]: every configuration field with its default, range
// and meaning, generated from the schemas (core/config.h). `--json` prints
// the defaults as a config file to start from.
#include <cstdio>
#include <memory>

#include "api/pipeline.h"
#include "api/simulate.h"
#include "command.h"
#include "eval/eval.h"

namespace {

template <class S>
void print_fields(const char* title, const char* where) {
  std::printf("%s (%s)\n", title, where);
  for (const auto& f : S::schema().fields())
    std::printf("  %-38s %-10s %-14s %s%s\n", f.name.c_str(), f.type.c_str(), f.default_json.c_str(), f.doc.c_str(),
                f.allowed.empty() ? "" : (" [" + f.allowed + "]").c_str());
  std::printf("\n");
}

RSLICER_COMMAND("config", "List every configuration field (model, detect, eval, simulator) with defaults and ranges",
                70, [](CLI::App& sub) {
                  auto json = std::make_shared<bool>(false);
                  sub.add_flag("--json", *json, "Print the model config's defaults as JSON (a --config file)");
                  return [json]() {
                    if (*json) {
                      std::printf("%s\n", rslicer::TrainConfig::schema().to_json({}).dump(2).c_str());
                      return 0;
                    }
                    print_fields<rslicer::TrainConfig>("model config",
                                                       "rslicer train/eval --config FILE, --set KEY=VALUE");
                    print_fields<rslicer::DetectOptions>("detect", "rslicer detect --gap/--min-slices/--root-causes");
                    print_fields<rslicer::eval::EvalOptions>("eval baselines and scoring", "rslicer eval");
                    print_fields<rslicer::sim::SimConfig>("simulator", "rslicer simulate --config FILE, --set");
                    return 0;
                  };
                });

}  // namespace
