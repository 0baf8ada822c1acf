// Subcommand registry of the rslicer CLI. Each tools/cmd_<name>.cc registers
// itself with RSLICER_COMMAND; main() parses flags and maps exceptions to exit
// codes (see rslicer_main.cc). A command body parses flags into an options
// struct, calls the library, prints results; nothing else.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace rslicer::cli {

// setup(app) adds the subcommand's flags and returns the function to run
// after parsing; that function returns the process exit code.
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandEntry {
  std::string name;
  std::string help;
  CommandSetup setup;
  int order;  // position in --help
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string help, CommandSetup setup, int order = 100) {
    command_registry().push_back({std::move(name), std::move(help), std::move(setup), order});
  }
};

}  // namespace rslicer::cli

#define RSLICER_CONCAT_INNER(a, b) a##b
#define RSLICER_CONCAT(a, b) RSLICER_CONCAT_INNER(a, b)
// RSLICER_COMMAND("inspect", "help text", 10, [](CLI::App& sub) { ...; return [&]{...}; });
#define RSLICER_COMMAND(name, help, order, setup) \
  static ::rslicer::cli::CommandRegistrar RSLICER_CONCAT(rslicer_command_, __LINE__)(name, help, setup, order)
