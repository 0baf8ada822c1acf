// The library facade in a dozen lines: train a model on one dataset, then
// find incidents in another without reading its labels.
//
//   build/bin/rslicer_example TRAIN_DATA NEW_DATA MODEL_DIR
//
// (The README's quick start makes TRAIN_DATA and NEW_DATA with `rslicer simulate`.)
#include <cstdio>
#include <exception>

#include "api/pipeline.h"
#include "core/time.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s TRAIN_DATA NEW_DATA MODEL_DIR\n", argv[0]);
    return 2;
  }
  try {
    rslicer::TrainRequest t;
    t.data_path = argv[1];
    t.out_dir = argv[3];
    t.config.max_minutes = 2;
    rslicer::train_model(t);  // encoder + heads -> MODEL_DIR

    auto pipeline = rslicer::Pipeline::load(argv[3]);
    const rslicer::DetectResult r = pipeline->detect(argv[2]);  // labels in the data are never used
    std::printf("%zu slices, %zu incidents\n", r.timeline.size(), r.incidents.size());
    for (const auto& inc : r.incidents) {
      std::printf("%s", rslicer::format_time(inc.start).c_str());
      if (!inc.root_causes.empty()) {
        const auto& top = inc.root_causes[0];
        std::printf("  %s: %s", top.entity.c_str(), top.evidence.empty() ? "" : top.evidence[0].c_str());
      }
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
