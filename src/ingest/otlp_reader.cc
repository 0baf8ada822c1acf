// Reader for OpenTelemetry OTLP/JSON as written by the Collector's file
// exporter: one ExportMetricsServiceRequest, ExportTraceServiceRequest or
// ExportLogsServiceRequest JSON object per line, in *.json / *.jsonl /
// *.ndjson files (plain or gzip) under a folder, or one such file. Labels
// come from faults.json / labels.json beside the data. See docs/formats.md.
// A line's request is decoded by OtlpDecoder (otlp_decode.cc); this file
// finds the files, streams their lines in time order and reads the labels.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/line_reader.h"
#include "core/strings.h"
#include "core/time.h"
#include "ingest/aiops22_shared.h"
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

// First non-blank line of a file (at most the first 64 lines are looked at).
std::optional<std::string> first_line(const std::string& path) {
  LineReader r(path);
  std::string_view line;
  for (int i = 0; i < 64 && r.next(line); ++i)
    if (!trim(line).empty()) return std::string(line);
  return std::nullopt;
}

// Cheap test on the first line: an OTLP export request names one of the
// three resource arrays near its start.
bool looks_like_otlp(std::string_view line) {
  const std::string_view head = line.substr(0, 4096);
  return head.find("\"resourceMetrics\"") != std::string_view::npos ||
         head.find("\"resourceSpans\"") != std::string_view::npos ||
         head.find("\"resourceLogs\"") != std::string_view::npos;
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
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

// Reads one OTLP/JSON-lines file; each line is decoded by OtlpDecoder
// (otlp_decode.h), its records sorted by time and emitted before the next
// line is read.
class OtlpFileStream : public RecordStream {
 public:
  OtlpFileStream(std::string path, Sink sink, Modalities want, std::int64_t line_limit = -1)
      : path_(std::move(path)), sink_(sink), want_(want), line_limit_(line_limit) {
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
      parse_line(line);
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

  // The line's records go to buffer_ (sorted by time by next()), its
  // problems to the sink's stats with path_:line.
  void parse_line(std::string_view line) {
    if (trim(line).empty()) return;
    decoder_.decode_json_any(line, buffer_, path_, lines_->line_number(), want_.metrics, want_.traces, want_.logs);
  }

  std::string path_;
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

// Start of a label: ISO-8601 / "YYYY-MM-DD HH:MM:SS" (UTC) text, or an epoch
// number (or numeric text) whose unit is guessed by magnitude.
std::optional<TimeUs> label_time(const json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return epoch_to_us(d, guess_epoch_unit(d));
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (auto t = parse_datetime(trim(s))) return t;
    if (auto d = parse_double(s); d && std::isfinite(*d)) return epoch_to_us(*d, guess_epoch_unit(*d));
  }
  return std::nullopt;
}

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
    const auto paths = ingest_detail::list_files(root_, kDataSuffixes);
    size_t other = 0;
    for (const auto& p : paths) {
      if (is_label_file(p)) {
        labels_.push_back(p);
        continue;
      }
      std::optional<std::string> line;
      try {
        line = first_line(p);
      } catch (const IoError& e) {
        stats_.reject(p, 0, "unreadable_file", e.what());
        continue;
      }
      if (!line || !looks_like_otlp(*line)) {
        ++other;
        if (stats_.notes.size() < ParseStats::max_examples)
          stats_.notes.push_back(cat(p, line ? ": not OTLP/JSON (no resourceMetrics/resourceSpans/resourceLogs), skipped"
                                             : ": empty file, skipped"));
        continue;
      }
      files_.push_back(p);
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
                             ": no otlp data: looked for *.json, *.jsonl, *.ndjson files (plain or .gz) whose lines "
                             "are OTLP/JSON export requests (resourceMetrics, resourceSpans or resourceLogs); found ",
                             paths.size(), " JSON file(s), ", other, " of another kind"));
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
      {
        ParseStats peek_stats;
        ReadCounts peek_counts;
        OtlpFileStream peek(f, Sink{&catalog_, &peek_stats, &peek_counts, false}, want, 4);
        Record r;
        if (peek.next(r)) part.first_time = record_time(r);
      }
      part.open = [this, f, want]() -> std::unique_ptr<RecordStream> {
        return std::make_unique<OtlpFileStream>(f, Sink{&catalog_, &stats_, &counts_, true}, want);
      };
      parts.push_back(std::move(part));
    }
    return std::make_unique<LazyMergeStream>(std::move(parts));
  }

 private:
  void read_labels(const std::string& path, double default_s) {
    std::string text;
    try {
      text = read_text_file(path);
    } catch (const IoError& e) {
      stats_.reject(path, 0, "unreadable_file", e.what());
      return;
    }
    ++stats_.files_read;
    stats_.bytes_read += static_cast<std::int64_t>(text.size());
    const json j = json::parse(text, nullptr, false);
    const json* list = &j;
    if (j.is_object()) list = member(j, "faults");
    if (j.is_discarded() || !list || !list->is_array()) {
      stats_.reject(path, 0, "bad_json", "not a JSON array of faults (or an object with a \"faults\" array)");
      return;
    }
    size_t index = 0;
    for (const auto& e : *list) {
      ++index;
      auto bad = [&](const std::string& why) { stats_.reject(path, 0, "bad_label", cat("fault ", index, ": ", why)); };
      if (!e.is_object()) {
        bad("not an object");
        continue;
      }
      FaultEvent ev;
      const json* start = member(e, "start");
      const auto t = start ? label_time(*start) : std::nullopt;
      if (!t) {
        bad("missing or invalid \"start\" (ISO-8601 text or epoch number)");
        continue;
      }
      ev.start = *t;
      if (const json* end = member(e, "end")) {
        const auto te = label_time(*end);
        if (!te || *te < ev.start) {
          bad("invalid \"end\" (not a time, or before start)");
          continue;
        }
        ev.end = *te;
      } else if (const json* d = member(e, "duration_s")) {
        const auto ds = d->is_number()   ? std::optional<double>(d->get<double>())
                        : d->is_string() ? parse_double(d->get_ref<const std::string&>())
                                         : std::nullopt;
        if (!ds || !std::isfinite(*ds) || *ds < 0) {
          bad("invalid \"duration_s\"");
          continue;
        }
        ev.end = ev.start + static_cast<TimeUs>(std::llround(*ds * 1e6));
      } else {
        ev.end = ev.start + static_cast<TimeUs>(std::llround(default_s * 1e6));
      }
      auto text_of = [&](const char* k) {
        const json* v = member(e, k);
        return v && v->is_string() ? v->get<std::string>() : std::string();
      };
      ev.level = to_lower(text_of("level"));
      ev.root_cause = text_of("root_cause");
      ev.fault_type = text_of("fault_type");
      if (ev.root_cause.empty()) {
        bad("missing \"root_cause\"");
        continue;
      }
      ev.source = cat(path, ": fault ", index);
      faults_.push_back(std::move(ev));
    }
  }

  std::string root_;
  ReadOptions options_;
  std::vector<std::string> files_;
  std::vector<std::string> labels_;
  std::vector<FaultEvent> faults_;
  bool faults_read_ = false;
};

}  // namespace

int probe_otlp(const std::string& path) {
  constexpr size_t kMaxFiles = 50;
  size_t checked = 0;
  for (const auto& p : ingest_detail::list_files(path, kDataSuffixes)) {
    if (is_label_file(p)) continue;
    if (++checked > kMaxFiles) break;
    try {
      const auto line = first_line(p);
      if (line && looks_like_otlp(*line)) return 2;
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
