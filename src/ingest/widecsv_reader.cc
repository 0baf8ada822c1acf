// Reader for generic wide CSV metrics ("widecsv"): CSV files (plain or gzip)
// with a time column and one column per entity x KPI, named
// <entity>_<kpi> or mapped by columns.csv / columns.json. Labels from
// faults.json / labels.json or from folder names with an inject_time.txt.
// See docs/formats.md.
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "core/strings.h"
#include "ingest/aiops22_shared.h"
#include "ingest/fault_labels.h"
#include "ingest/formats.h"
#include "ingest/wide_csv.h"

namespace rslicer {

namespace {

namespace fs = std::filesystem;
using ingest_detail::CsvSink;
using ingest_detail::LazyMergeStream;
using ingest_detail::LazyPart;
using ingest_detail::WideFile;

// The mapping file for a data file: columns.csv / columns.json in its
// folder, else in the root folder; empty when there is none.
std::string mapping_file_for(const std::string& data_path, const std::string& root) {
  std::error_code ec;
  std::vector<fs::path> dirs = {fs::path(data_path).parent_path()};
  if (fs::is_directory(root, ec)) dirs.push_back(fs::path(root));
  for (const auto& d : dirs)
    for (const char* n : {"columns.csv", "columns.json"})
      if (fs::is_regular_file(d / n, ec)) return (d / n).string();
  return {};
}

class WideCsvSource : public TelemetrySource {
 public:
  WideCsvSource(std::string root, const ReadOptions& options) : root_(std::move(root)), options_(options) {
    stats_.strict = options.strict;
  }

  void discover() {
    std::error_code ec;
    const bool root_is_dir = fs::is_directory(root_, ec);
    const auto paths = ingest_detail::list_files(root_, {".csv", ".csv.gz"});
    size_t other = 0;
    for (const auto& p : paths) {
      if (ingest_detail::is_column_map_name(p)) continue;
      std::vector<std::string> header;
      try {
        if (!ingest_detail::read_csv_header(p, header)) {
          ++other;
          if (stats_.notes.size() < ParseStats::max_examples) stats_.notes.push_back(cat(p, ": empty file, skipped"));
          continue;
        }
      } catch (const IoError& e) {
        stats_.reject(p, 0, "unreadable_file", e.what());
        continue;
      }
      const std::string map_path = mapping_file_for(p, root_);
      const ingest_detail::ColumnMap* map = nullptr;
      if (!map_path.empty()) {
        auto it = maps_.find(map_path);
        if (it == maps_.end()) it = maps_.emplace(map_path, ingest_detail::read_column_map(map_path, stats_)).first;
        map = &it->second;
      }
      auto f = ingest_detail::wide_layout(p, header, map);
      if (!f) {
        ++other;
        if (stats_.notes.size() < ParseStats::max_examples)
          stats_.notes.push_back(
              cat(p, ": no time column (time, timestamp, ts, date or datetime) in the header, skipped"));
        continue;
      }
      ingest_detail::report_wide_layout(*f, stats_);
      files_.push_back(std::move(*f));
    }
    if (files_.empty()) {
      throw InvalidInput(cat(root_,
                             ": no widecsv data: looked for CSV files (plain or .gz) whose header has a time column "
                             "(time, timestamp, ts, date or datetime) and <entity>_<kpi> columns; found ",
                             paths.size(), " CSV file(s), ", other, " without a time column"));
    }
    // Labels: faults.json / labels.json and inject_time.txt under the folder, or beside a single file.
    const auto label_paths =
        root_is_dir ? ingest_detail::list_files(root_, {"faults.json", "labels.json", "inject_time.txt"})
                    : std::vector<std::string>{};
    for (const auto& p : label_paths) {
      const std::string name = to_lower(fs::path(p).filename().string());
      if (name == "inject_time.txt") inject_files_.push_back(p);
      else if (ingest_detail::is_fault_json_name(p)) json_labels_.push_back(p);
    }
    if (!root_is_dir) {
      const fs::path dir = fs::path(root_).parent_path();
      for (const char* n : {"faults.json", "labels.json"})
        if (fs::is_regular_file(dir / n, ec)) json_labels_.push_back((dir / n).string());
      if (fs::is_regular_file(dir / "inject_time.txt", ec)) inject_files_.push_back((dir / "inject_time.txt").string());
    }
    if (json_labels_.empty() && inject_files_.empty())
      stats_.note_missing(cat(root_, ": no labels (faults.json, labels.json or inject_time.txt)"));
    if (options_.read_traces || options_.read_logs)
      stats_.notes.push_back(cat(root_, ": widecsv holds metrics only; no traces or logs are read"));
  }

  std::string format() const override { return "widecsv"; }

  std::vector<FaultEvent> faults() override {
    if (faults_read_) return faults_;
    faults_read_ = true;
    const double duration_s =
        options_.fault_duration_s >= 0 ? options_.fault_duration_s : kWidecsvDefaultFaultDurationS;
    for (const auto& p : json_labels_) ingest_detail::read_fault_json(p, duration_s, stats_, faults_);
    for (const auto& p : inject_files_) {
      FaultEvent ev;
      if (ingest_detail::read_folder_label(p, duration_s, stats_, ev)) faults_.push_back(std::move(ev));
    }
    std::stable_sort(faults_.begin(), faults_.end(),
                     [](const FaultEvent& a, const FaultEvent& b) { return a.start < b.start; });
    return faults_;
  }

  std::unique_ptr<RecordStream> open() override {
    std::vector<LazyPart> parts;
    if (!options_.read_metrics) return std::make_unique<LazyMergeStream>(std::move(parts));
    for (const auto& f : files_) {
      Catalog scratch_catalog;
      ParseStats scratch_stats;
      ReadCounts scratch_counts;
      auto scan_stream = ingest_detail::open_wide_stream(f, CsvSink{&scratch_catalog, &scratch_stats, &scratch_counts, false});
      const ingest_detail::TimeScan scan = ingest_detail::scan_times(*scan_stream);
      LazyPart part;
      if (scan.any) part.first_time = scan.min_time;
      const bool sorted = ingest_detail::sort_when_disordered(f.path, scan.max_back, "rows", stats_);
      part.open = [this, f, sorted]() {
        return ingest_detail::sorted_if(sorted, ingest_detail::open_wide_stream(f, CsvSink{&catalog_, &stats_, &counts_, true}));
      };
      parts.push_back(std::move(part));
    }
    return std::make_unique<LazyMergeStream>(std::move(parts));
  }

 private:
  std::string root_;
  ReadOptions options_;
  std::vector<WideFile> files_;
  std::map<std::string, ingest_detail::ColumnMap> maps_;
  std::vector<std::string> json_labels_, inject_files_;
  std::vector<FaultEvent> faults_;
  bool faults_read_ = false;
};

}  // namespace

// Plausible (1) when a CSV file (of the first 50) has a time column, at least
// one KPI column and no column the rule or a mapping file leaves unmapped,
// and its first data row has a readable time. Never certain: the dedicated
// formats (aiops22 headers, nezha day folders, rcaeval run folders) win.
int probe_widecsv(const std::string& path) {
  constexpr size_t kMaxFiles = 50;
  const auto paths = ingest_detail::list_files(path, {".csv", ".csv.gz"});
  size_t checked = 0;
  for (const auto& p : paths) {
    if (ingest_detail::is_column_map_name(p)) continue;
    if (++checked > kMaxFiles) break;
    try {
      std::vector<std::string> header;
      if (!ingest_detail::read_csv_header(p, header)) continue;
      ParseStats scratch_stats;
      const std::string map_path = mapping_file_for(p, path);
      const auto map = map_path.empty() ? ingest_detail::ColumnMap{} : ingest_detail::read_column_map(map_path, scratch_stats);
      const auto f = ingest_detail::wide_layout(p, header, &map);
      if (!f || f->kpis.empty() || !f->unmapped.empty()) continue;
      Catalog scratch_catalog;
      ReadCounts scratch_counts;
      auto s = ingest_detail::open_wide_stream(*f, ingest_detail::CsvSink{&scratch_catalog, &scratch_stats, &scratch_counts, false}, 1);
      Record r;
      s->next(r);
      if (scratch_counts.metric_rows > 0) return 1;
    } catch (const Error&) {
    }
  }
  return 0;
}

std::unique_ptr<TelemetrySource> open_widecsv(const std::string& path, const ReadOptions& options) {
  auto src = std::make_unique<WideCsvSource>(path, options);
  src->discover();
  return src;
}

}  // namespace rslicer
