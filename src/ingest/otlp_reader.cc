// Reader for OpenTelemetry OTLP/JSON files: one export request per line as
// the Collector's file exporter writes them (*.json / *.jsonl / *.ndjson,
// plain or gzip, under a folder), or whole JSON documents: a pretty-printed
// request, several of them one after another, or an array of them (the
// opentelemetry-proto examples, most public samples). A file named
// explicitly is read by its content, whatever its name. Labels come from
// faults.json / labels.json beside the data. See docs/formats.md.
// A request is decoded by OtlpDecoder (otlp_decode.cc); this file finds the
// files, streams their records in time order (a file whose lines go back in
// time by more than a minute is sorted first) and reads the labels.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/line_reader.h"
#include "core/strings.h"
#include "core/time.h"
#include "ingest/aiops22_shared.h"
#include "ingest/fault_labels.h"
#include "ingest/formats.h"
#include "ingest/otlp_decode.h"

namespace rslicer {

namespace {

using nlohmann::json;
using ingest_detail::LazyMergeStream;
using ingest_detail::LazyPart;

// Label duration when a fault in faults.json has neither end nor duration_s.
constexpr double kOtlpDefaultFaultDurationS = 300;

const std::vector<std::string> kDataSuffixes = {".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"};

bool is_label_file(const std::string& path) {
  const std::string name = to_lower(std::filesystem::path(path).filename().string());
  return name == "faults.json" || name == "labels.json" || name == "faults.json.gz" || name == "labels.json.gz";
}

// How a file holds its requests.
enum class Layout { kNone, kLines, kDocument };

// Lines of the file head looked at to tell the layout.
constexpr int kHeadLines = 64;
constexpr size_t kHeadBytes = 64 * 1024;

// Cheap test on a piece of text: an OTLP export request names one of the
// three resource arrays near its start.
bool names_resources(std::string_view text) {
  return text.find("\"resourceMetrics\"") != std::string_view::npos ||
         text.find("\"resourceSpans\"") != std::string_view::npos ||
         text.find("\"resourceLogs\"") != std::string_view::npos;
}

// JSON lines when the first non-blank line names a resource array (in its
// first 4 KB); one or more whole documents when the file starts with '{' or
// '[' and a resource array is named within its first 64 KB (a pretty-printed
// request opens with a line holding only "{"); otherwise not OTLP. `empty`
// is set when the file has no non-blank line.
Layout file_layout(const std::string& path, bool* empty = nullptr) {
  LineReader r(path);
  std::string_view line;
  std::string head;
  bool first = true;
  char opening = 0;
  for (int i = 0; i < kHeadLines && head.size() < kHeadBytes && r.next(line); ++i) {
    const std::string_view t = trim(line);
    if (t.empty()) continue;
    if (first) {
      first = false;
      if (names_resources(t.substr(0, 4096))) return Layout::kLines;
      opening = t.front();
      if (opening != '{' && opening != '[') return Layout::kNone;
    }
    head.append(t);
    head.push_back('\n');
  }
  if (empty) *empty = first;
  return !first && names_resources(head) ? Layout::kDocument : Layout::kNone;
}

struct Sink {
  Catalog* catalog;
  ParseStats* stats;
  ReadCounts* counts;
  bool account_file;
};

struct Modalities {
  bool metrics = true, traces = true, logs = true;
};

// Reads one OTLP/JSON file. Lines layout: each line is decoded by
// OtlpDecoder (otlp_decode.h), its records sorted by time and emitted before
// the next line is read. Document layout: the whole file is decoded at once
// (a pretty-printed file is a small one) and its records sorted by time.
class OtlpFileStream : public RecordStream {
 public:
  OtlpFileStream(std::string path, Layout layout, Sink sink, Modalities want, std::int64_t line_limit = -1)
      : path_(std::move(path)), layout_(layout), sink_(sink), want_(want), line_limit_(line_limit) {
    try {
      lines_ = std::make_unique<LineReader>(path_);
    } catch (const IoError& e) {
      done_ = true;
      sink_.stats->reject(path_, 0, "unreadable_file", e.what());
    }
  }

  bool next(Record& out) override {
    for (;;) {
      if (pos_ < buffer_.size()) {
        out = std::move(buffer_[pos_++]);
        return true;
      }
      buffer_.clear();
      pos_ = 0;
      if (done_) return false;
      if (line_limit_ >= 0 && lines_read_ >= line_limit_) {
        done_ = true;
        return false;
      }
      if (layout_ == Layout::kDocument) {
        read_document();
        sort_by_time(buffer_);
        continue;
      }
      std::string_view line;
      try {
        if (!lines_->next(line)) {
          finish();
          return false;
        }
      } catch (const IoError& e) {
        sink_.stats->reject(path_, lines_->line_number() + 1, "unreadable_file", e.what());
        finish();
        return false;
      }
      ++lines_read_;
      if (!trim(line).empty())
        decoder_.decode_json_any(line, buffer_, path_, lines_->line_number(), want_.metrics, want_.traces, want_.logs);
      sort_by_time(buffer_);
    }
  }

 private:
  void finish() {
    if (done_) return;
    done_ = true;
    if (sink_.account_file && lines_) {
      ++sink_.stats->files_read;
      sink_.stats->bytes_read += lines_->bytes_read();
    }
  }

  // The whole file as text (the LineReader inflates gzip), decoded as one or
  // more JSON documents; problems are reported at line 1.
  void read_document() {
    std::string text;
    std::string_view line;
    try {
      while (lines_->next(line)) {
        text.append(line);
        text.push_back('\n');
      }
    } catch (const IoError& e) {
      sink_.stats->reject(path_, lines_->line_number() + 1, "unreadable_file", e.what());
    }
    lines_read_ = lines_->line_number();
    decoder_.decode_json_any(text, buffer_, path_, 1, want_.metrics, want_.traces, want_.logs);
    finish();
  }

  std::string path_;
  Layout layout_;
  Sink sink_;
  OtlpDecoder decoder_{*sink_.catalog, *sink_.stats, *sink_.counts};
  Modalities want_;
  std::int64_t line_limit_;
  std::int64_t lines_read_ = 0;
  std::unique_ptr<LineReader> lines_;
  std::vector<Record> buffer_;
  size_t pos_ = 0;
  bool done_ = false;
};


class OtlpSource : public TelemetrySource {
 public:
  OtlpSource(std::string root, const ReadOptions& options) : root_(std::move(root)), options_(options) {
    stats_.strict = options.strict;
  }

  void discover() {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(root_, ec)) throw InvalidInput(cat(root_, ": no such file or folder"));
    const bool root_is_dir = fs::is_directory(root_, ec);
    // A file named explicitly is read by its content, whatever its name (the
    // file exporter's own example writes "./file").
    auto paths = root_is_dir ? ingest_detail::list_files(root_, kDataSuffixes) : std::vector<std::string>{root_};
    size_t other = 0;
    for (const auto& p : paths) {
      if (is_label_file(p)) {
        labels_.push_back(p);
        continue;
      }
      Layout layout = Layout::kNone;
      bool empty = false;
      try {
        layout = file_layout(p, &empty);
      } catch (const IoError& e) {
        stats_.reject(p, 0, "unreadable_file", e.what());
        continue;
      }
      if (layout == Layout::kNone) {
        ++other;
        if (stats_.notes.size() < ParseStats::max_examples)
          stats_.notes.push_back(cat(p, empty ? ": empty file, skipped"
                                              : ": not OTLP/JSON (no resourceMetrics/resourceSpans/resourceLogs "
                                                "in its first line or, for a JSON document, its first 64 KB), "
                                                "skipped"));
        continue;
      }
      files_.push_back({p, layout});
    }
    // Labels beside a single data file.
    if (!root_is_dir) {
      const fs::path dir = fs::path(root_).parent_path();
      for (const char* n : {"faults.json", "labels.json"}) {
        const fs::path lp = dir / n;
        if (fs::is_regular_file(lp, ec)) labels_.push_back(lp.string());
      }
    }
    if (files_.empty()) {
      throw InvalidInput(cat(root_,
                             ": no otlp data: looked for *.json, *.jsonl, *.ndjson files (plain or .gz) holding OTLP/JSON "
                             "export requests (resourceMetrics, resourceSpans or resourceLogs), one per line or as "
                             "JSON documents; found ",
                             paths.size(), " file(s), ", other, " of another kind"));
    }
    if (labels_.empty()) stats_.note_missing(cat(root_, ": no faults.json or labels.json"));
  }

  std::string format() const override { return "otlp"; }

  std::vector<FaultEvent> faults() override {
    if (faults_read_) return faults_;
    faults_read_ = true;
    const double default_s = options_.fault_duration_s >= 0 ? options_.fault_duration_s : kOtlpDefaultFaultDurationS;
    for (const auto& path : labels_) read_labels(path, default_s);
    std::stable_sort(faults_.begin(), faults_.end(),
                     [](const FaultEvent& a, const FaultEvent& b) { return a.start < b.start; });
    return faults_;
  }

  std::unique_ptr<RecordStream> open() override {
    const Modalities want{options_.read_metrics, options_.read_traces, options_.read_logs};
    std::vector<LazyPart> parts;
    for (const auto& f : files_) {
      LazyPart part;
      const ingest_detail::TimeScan order = scan(f, want);
      part.first_time = order.min_time;  // opened when the merge reaches its earliest record
      // The file exporter writes batches in export order, not in time order; a document is sorted whole anyway.
      const bool sorted =
          f.layout == Layout::kLines && ingest_detail::sort_when_disordered(f.path, order.max_back, "lines", stats_);
      part.open = [this, f, want, sorted]() {
        return ingest_detail::sorted_if(
            sorted, std::make_unique<OtlpFileStream>(f.path, f.layout, Sink{&catalog_, &stats_, &counts_, true}, want));
      };
      parts.push_back(std::move(part));
    }
    return std::make_unique<LazyMergeStream>(std::move(parts));
  }

 private:
  struct DataFile {
    std::string path;
    Layout layout;
  };

  // A pass over the file's records for its time order; a file with no record starts at the minimum, so it is read
  // first and its problems are counted early. Names go to a scratch catalog (the real read interns them in
  // reading order, as a receiver does in arrival order) and problems are not counted (the real read counts them).
  ingest_detail::TimeScan scan(const DataFile& f, Modalities want) {
    Catalog scratch_catalog;
    ParseStats scratch_stats;
    ReadCounts scratch_counts;
    OtlpFileStream s(f.path, f.layout, Sink{&scratch_catalog, &scratch_stats, &scratch_counts, false}, want);
    return ingest_detail::scan_times(s);
  }

  void read_labels(const std::string& path, double default_s) {
    ingest_detail::read_fault_json(path, default_s, stats_, faults_);  // ingest/fault_labels.h
  }

  std::string root_;
  ReadOptions options_;
  std::vector<DataFile> files_;
  std::vector<std::string> labels_;
  std::vector<FaultEvent> faults_;
  bool faults_read_ = false;
};

}  // namespace

int probe_otlp(const std::string& path) {
  constexpr size_t kMaxFiles = 50;
  size_t checked = 0;
  std::error_code ec;
  // A file named explicitly is judged by its content, whatever its name.
  const auto paths = std::filesystem::is_directory(path, ec) ? ingest_detail::list_files(path, kDataSuffixes)
                                                              : std::vector<std::string>{path};
  for (const auto& p : paths) {
    if (is_label_file(p)) continue;
    if (++checked > kMaxFiles) break;
    try {
      if (file_layout(p) != Layout::kNone) return 2;
    } catch (const Error&) {
    }
  }
  return 0;
}

std::unique_ptr<TelemetrySource> open_otlp(const std::string& path, const ReadOptions& options) {
  auto src = std::make_unique<OtlpSource>(path, options);
  src->discover();
  return src;
}

}  // namespace rslicer
