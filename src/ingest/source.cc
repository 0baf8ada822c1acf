#include "ingest/source.h"

#include <filesystem>

#include "core/errors.h"
#include "ingest/formats.h"

namespace rslicer {

const config::Schema<ReadOptions>& ReadOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<ReadOptions>("read")
          .flag("strict", &ReadOptions::strict, "the first rejected record is an error")
          .num("fault_duration_s", &ReadOptions::fault_duration_s,
               "fault duration in seconds when labels have none (< 0: the format's default)")
          .flag("read_metrics", &ReadOptions::read_metrics, "read metric files")
          .flag("read_traces", &ReadOptions::read_traces, "read trace files")
          .flag("read_logs", &ReadOptions::read_logs, "read log files")
          .num("parse_threads", &ReadOptions::parse_threads,
               "threads parsing files ahead of the merge (nezha); -1: one per core, 0: none", Range::closed(-1, 256))
          .num("parse_ahead_mb", &ReadOptions::parse_ahead_mb,
               "nezha: parse a date's metric files ahead while their compressed size is within this",
               Range::at_least(0));
  return s;
}

namespace {

struct FormatEntry {
  const char* name;
  int (*probe)(const std::string&);
  std::unique_ptr<TelemetrySource> (*open)(const std::string&, const ReadOptions&);
};

const std::vector<FormatEntry>& format_table() {
  static const std::vector<FormatEntry> table = {
      {"nezha", &probe_nezha, &open_nezha},
      {"aiops22", &probe_aiops22, &open_aiops22},
      {"otlp", &probe_otlp, &open_otlp},
      {"rcaeval", &probe_rcaeval, &open_rcaeval},
      {"widecsv", &probe_widecsv, &open_widecsv},
  };
  return table;
}

std::string joined_formats() {
  std::string s;
  for (const auto& f : format_table()) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

}  // namespace


std::vector<std::string> known_formats() {
  std::vector<std::string> out;
  for (const auto& f : format_table()) out.emplace_back(f.name);
  return out;
}

std::string detect_format(const std::string& path) {
  std::error_code ec;
  RSLICER_CHECK(std::filesystem::exists(path, ec), IoError, path, ": no such file or folder");
  if (std::filesystem::is_directory(path, ec)) {
    RSLICER_CHECK(std::filesystem::directory_iterator(path, ec) != std::filesystem::directory_iterator(), InvalidInput,
                  path, ": the folder is empty");
  }
  int best = 0;
  std::string best_name;
  for (const auto& f : format_table()) {
    const int score = f.probe(path);
    if (score > best) {
      best = score;
      best_name = f.name;
    }
  }
  RSLICER_CHECK(best > 0, InvalidInput, path,
                ": no known telemetry format found (looked for nezha day folders with metric/trace/log CSV files, "
                "aiops22 CSV files with their headers, otlp JSON requests (one per line or whole documents), rcaeval run folders with inject_time.txt, "
                "widecsv CSV files with a time column and <entity>_<kpi> columns); name one with --format (",
                joined_formats(), ")");
  return best_name;
}

std::unique_ptr<TelemetrySource> open_source(const std::string& path, const std::string& format,
                                             const ReadOptions& options) {
  ReadOptions::schema().validate(options);
  const std::string name = format.empty() || format == "auto" ? detect_format(path) : format;
  for (const auto& f : format_table())
    if (name == f.name) {
      std::error_code ec;
      RSLICER_CHECK(std::filesystem::exists(path, ec), IoError, path, ": no such file or folder");
      return f.open(path, options);
    }
  throw InvalidInput(cat("unknown format '", name, "'; known formats: ", joined_formats()));
}

}  // namespace rslicer
