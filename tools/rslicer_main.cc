// rslicer: one binary, one subcommand per tools/cmd_*.cc.
// Exit codes: 0 ok, 2 invalid input or usage (a bad flag or value), 3 I/O
// error, 4 model error, 5 internal (docs/formats.md, README).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>

#include "command.h"
#include "core/errors.h"
#include "core/progress.h"

// jemalloc (CMakeLists.txt, rslicer_use_fast_malloc) reads this at start-up; MALLOC_CONF in the environment
// still overrides it. The encoder frees and allocates the same large activation tensors at every batch; with
// jemalloc's default decay their pages went back to the kernel and were faulted in again at the next batch (a
// fifth of the time in page faults; on TrainTicket training ran at 9 instead of 80 slices/s and embedding at 65
// instead of 414 slices/s, docs/performance.md). Keeping freed pages holds the process's memory at its peak,
// which it reaches anyway. Without jemalloc this variable is unused.
extern "C" {
const char* malloc_conf = "dirty_decay_ms:-1";
}

namespace rslicer::cli {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace rslicer::cli

int main(int argc, char** argv) {
  using namespace rslicer;
  CLI::App app{
      "rslicer: RuntimeSlicer, one learned runtime-state embedding per time slice of metrics, traces and "
      "logs, for anomaly detection, failure triage and root cause localisation."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rslicer 0.1.0");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress output on stderr (before or after the command name)");
  app.fallthrough();  // -q after the command name reaches the app's flag
  auto& registry = cli::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runs;
  for (auto& entry : registry) {
    CLI::App* sub = app.add_subcommand(entry.name, entry.help);
    runs.emplace_back(sub, entry.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the message (or --help / --version)
    return code == 0 ? 0 : 2;
  }
  Progress::set_global_enabled(!quiet);
  try {
    for (auto& [sub, run] : runs)
      if (sub->parsed()) return run();
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const IoError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  } catch (const ModelError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 5;
  }
  return 2;
}
