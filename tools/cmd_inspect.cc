// rslicer inspect --data DIR [--format F] [--json] [--strict] [--allowed-lateness S] [--read-threads N]
#include <cstdio>

#include "api/inspect.h"
#include "command.h"
#include "data_path.h"
#include "read_flags.h"

namespace {

struct InspectFlags {
  rslicer::InspectOptions options;
  bool json = false;
};

RSLICER_COMMAND("inspect", "Summarise a dataset: entities, time range, counts, log templates, faults, rejected records",
                10, [](CLI::App& sub) {
                  auto flags = std::make_shared<InspectFlags>();
                  auto& o = flags->options;
                  sub.add_option("--data", o.data, "Dataset folder or file (default: the bundled sample)");
                  sub.add_option("--format", o.format, "nezha | aiops22 | otlp | rcaeval | widecsv | auto")->default_val("auto");
                  sub.add_flag("--json", flags->json, "Print one JSON object");
                  rslicer::cli::add_read_flags(sub, o.read);
                  sub.add_option("--read-threads", o.read.parse_threads,
                                 "Threads parsing files ahead of the merge (nezha); -1: one per core, 0: none")
                      ->default_val(-1)
                      ->check(CLI::Range(-1, 256));
                  sub.add_option("--window", o.slice.window_len_s, "Slice length in seconds")->default_val(180);
                  sub.add_option("--stride", o.slice.window_stride_s, "Slice stride in seconds")->default_val(60);
                  return [flags]() {
                    auto& o = flags->options;
                    if (o.data.empty()) o.data = rslicer::cli::default_data_path();
                    const auto report = rslicer::inspect_dataset(o);
                    if (flags->json) {
                      std::printf("%s\n", rslicer::inspect_to_json(report).dump(2).c_str());
                    } else {
                      std::fputs(rslicer::inspect_to_text(report, o.top_templates).c_str(), stdout);
                    }
                    return 0;
                  };
                });

}  // namespace
