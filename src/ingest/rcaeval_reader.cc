// Reader for the RCAEval benchmark's folders ("rcaeval"):
//   <system>/<service>_<fault>/<run>/data.csv            (RE1: wide metrics)
//   <system>/<service>_<fault>/<run>/metrics.csv         (RE2/RE3: wide metrics)
//                                  /simple_metrics.csv  (read only without metrics.csv / data.csv)
//                                  /logs.csv, traces.csv (RE2/RE3)
//                                  /inject_time.txt      (fault start, epoch seconds)
// Wide metrics go through wide_csv.h; logs and traces are read by their
// header names. The case folder's name gives the root cause service and
// fault type. See docs/formats.md.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "core/errors.h"
#include "core/strings.h"
#include "ingest/aiops22_shared.h"
#include "ingest/fault_labels.h"
#include "ingest/formats.h"
#include "ingest/wide_csv.h"

namespace rslicer {

namespace {

namespace fs = std::filesystem;
using ingest_detail::CsvRowStream;
using ingest_detail::CsvSink;
using ingest_detail::LazyMergeStream;
using ingest_detail::LazyPart;
using ingest_detail::WideFile;

enum class FileKind { kWide, kLogs, kTraces };

// Column positions of a logs.csv or traces.csv, -1 when absent.
struct EventColumns {
  size_t count = 0;
  // logs
  int time = -1, timestamp = -1, entity = -1, message = -1, level = -1;
  // traces
  int trace_id = -1, span_id = -1, parent = -1, service = -1, operation = -1, method = -1, start = -1,
      start_ms = -1, duration = -1, status = -1;
};

struct DataFile {
  std::string path;
  FileKind kind = FileKind::kWide;
  WideFile wide;
  EventColumns cols;
  size_t run = 0;  // index into runs_
};

std::string base_name(const std::string& path) {
  std::string n = to_lower(fs::path(path).filename().string());
  if (ends_with(n, ".gz")) n.resize(n.size() - 3);
  return n;
}

bool is_run_file_name(const std::string& n) {
  return n == "data.csv" || n == "metrics.csv" || n == "simple_metrics.csv" || n == "logs.csv" ||
         n == "traces.csv" || n == "inject_time.txt";
}

std::unordered_map<std::string, int> column_index(const std::vector<std::string>& header) {
  std::unordered_map<std::string, int> at;
  for (size_t i = 0; i < header.size(); ++i) at.emplace(to_lower(header[i]), static_cast<int>(i));
  return at;
}

int col(const std::unordered_map<std::string, int>& at, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto it = at.find(n);
    if (it != at.end()) return it->second;
  }
  return -1;
}

constexpr const char* kLogColumns =
    "time or timestamp, container_name (or pod / service), message (level optional)";
constexpr const char* kTraceColumns =
    "traceID, spanID, serviceName, startTime (or startTimeMillis / time), duration "
    "(parentSpanID, operationName, methodName, statusCode optional)";

bool log_columns(const std::vector<std::string>& header, EventColumns& c) {
  const auto at = column_index(header);
  c.count = header.size();
  c.timestamp = col(at, {"timestamp"});
  c.time = col(at, {"time"});
  c.entity = col(at, {"container_name", "pod", "pod_name", "service", "service_name", "container"});
  c.message = col(at, {"message", "msg", "log"});
  c.level = col(at, {"level", "severity"});
  return (c.timestamp >= 0 || c.time >= 0) && c.entity >= 0 && c.message >= 0;
}

bool trace_columns(const std::vector<std::string>& header, EventColumns& c) {
  const auto at = column_index(header);
  c.count = header.size();
  c.trace_id = col(at, {"traceid", "trace_id"});
  c.span_id = col(at, {"spanid", "span_id"});
  c.parent = col(at, {"parentspanid", "parent_span_id", "parentid"});
  c.service = col(at, {"servicename", "service_name", "service"});
  c.operation = col(at, {"operationname", "operation_name", "operation"});
  c.method = col(at, {"methodname", "method"});
  c.start = col(at, {"starttime", "start_time"});
  c.start_ms = col(at, {"starttimemillis"});
  c.time = col(at, {"time", "timestamp"});
  c.duration = col(at, {"duration"});
  c.status = col(at, {"statuscode", "status_code", "status"});
  return c.trace_id >= 0 && c.span_id >= 0 && c.service >= 0 && c.duration >= 0 &&
         (c.start >= 0 || c.start_ms >= 0 || c.time >= 0);
}

EntityKind kind_of(std::string_view name) {
  return service_of_pod(name) != name ? EntityKind::kPod : EntityKind::kService;
}

bool empty_or_nan(std::string_view s) {
  const std::string l = to_lower(trim(s));
  return l.empty() || l == "nan" || l == "null" || l == "none";
}

// The rows of logs.csv and traces.csv name their service or container: entity ids cached per file.
class EventStream : public CsvRowStream {
 public:
  EventStream(const DataFile& f, CsvSink sink, std::int64_t row_limit)
      : CsvRowStream(f.path, f.cols.count, sink, row_limit), c_(f.cols) {}

 protected:
  Id resolve(std::string_view name) {
    auto it = ids_.find(std::string(name));
    if (it != ids_.end()) return it->second;
    const Id id = sink_.catalog->entity(name, kind_of(name));
    ids_.emplace(std::string(name), id);
    return id;
  }

  EventColumns c_;

 private:
  std::unordered_map<std::string, Id> ids_;
};

class LogStream : public EventStream {
 public:
  LogStream(const DataFile& f, CsvSink sink, std::int64_t row_limit = -1) : EventStream(f, sink, row_limit) {}

 protected:
  bool row(Record& out) override {
    LogRecord r;
    // timestamp (nanoseconds in RCAEval) is finer than time (seconds).
    const int tc = c_.timestamp >= 0 && !trim(field(c_.timestamp)).empty() ? c_.timestamp : c_.time;
    if (tc < 0) {
      reject("bad_time", "empty timestamp and no time column");
      return false;
    }
    if (!parse_time(tc, tc == c_.timestamp ? "timestamp" : "time", r.time)) return false;
    const std::string_view entity = trim(field(c_.entity));
    if (empty_or_nan(entity)) {
      reject("missing_field", "empty container_name");
      return false;
    }
    r.entity = resolve(entity);
    r.message.assign(field(c_.message));
    if (c_.level >= 0) r.level = parse_log_level(trim(field(c_.level)));
    ++sink_.counts->log_records;
    out = std::move(r);
    return true;
  }
};

class TraceStream : public EventStream {
 public:
  TraceStream(const DataFile& f, CsvSink sink, std::int64_t row_limit = -1) : EventStream(f, sink, row_limit) {}

 protected:
  bool row(Record& out) override {
    Span s;
    // startTime (microseconds) is the finest start RCAEval keeps; the units are read by magnitude.
    const int tc = c_.start >= 0 ? c_.start : c_.start_ms >= 0 ? c_.start_ms : c_.time;
    if (!parse_time(tc, tc == c_.start ? "startTime" : tc == c_.start_ms ? "startTimeMillis" : "time", s.start))
      return false;
    const std::string_view trace_id = trim(field(c_.trace_id)), span_id = trim(field(c_.span_id));
    if (empty_or_nan(trace_id) || empty_or_nan(span_id)) {
      reject("missing_field", empty_or_nan(span_id) ? "empty spanID" : "empty traceID");
      return false;
    }
    const std::string_view service = trim(field(c_.service));
    if (empty_or_nan(service)) {
      reject("missing_field", "empty serviceName");
      return false;
    }
    const std::string_view dtext = trim(field(c_.duration));
    const auto d = parse_double(dtext);
    // Microseconds, as Jaeger reports them; up to 1e18 (llround of more is unspecified).
    if (!d || !std::isfinite(*d) || *d < 0 || *d > 1e18) {
      reject("bad_duration", cat("duration '", dtext, "' is not a non-negative number"));
      return false;
    }
    s.duration_us = static_cast<std::int64_t>(std::llround(*d));
    if (c_.status >= 0) {
      const std::string_view st = trim(field(c_.status));
      if (!empty_or_nan(st)) {
        const auto code = parse_double(st);
        if (!code || !std::isfinite(*code) || *code < 0 || *code >= 2147483648.0) {
          reject("bad_number", cat("statusCode '", st, "' is not a status code"));
          return false;
        }
        s.status_code = static_cast<std::int32_t>(*code);
        s.error = ingest_detail::status_implies_error(s.status_code);
      }
    }
    s.entity = resolve(service);
    std::string_view op = c_.operation >= 0 ? trim(field(c_.operation)) : std::string_view();
    if (empty_or_nan(op) && c_.method >= 0) op = trim(field(c_.method));
    s.operation = sink_.catalog->operations.intern(empty_or_nan(op) ? std::string_view() : op);
    s.trace_id.assign(trace_id);
    s.span_id.assign(span_id);
    if (c_.parent >= 0) {
      const std::string_view parent = trim(field(c_.parent));
      if (!empty_or_nan(parent) && parent.find_first_not_of('0') != std::string_view::npos && parent != span_id)
        s.parent_id.assign(parent);
    }
    ++sink_.counts->spans;
    out = std::move(s);
    return true;
  }
};

std::unique_ptr<RecordStream> open_file(const DataFile& f, CsvSink sink) {
  switch (f.kind) {
    case FileKind::kWide: return ingest_detail::open_wide_stream(f.wide, sink);
    case FileKind::kLogs: return std::make_unique<LogStream>(f, sink);
    case FileKind::kTraces: return std::make_unique<TraceStream>(f, sink);
  }
  return nullptr;
}

struct Run {
  std::string dir;          // the run folder
  std::string name;         // "<case>/<run>" for messages
  std::string inject_path;  // empty when the run has none
};

class RcaevalSource : public TelemetrySource {
 public:
  RcaevalSource(std::string root, const ReadOptions& options) : root_(std::move(root)), options_(options) {
    stats_.strict = options.strict;
  }

  void discover() {
    std::error_code ec;
    RSLICER_CHECK(fs::is_directory(root_, ec), InvalidInput, root_,
                  ": rcaeval reads a folder (a dataset, a case <service>_<fault> or one run), not a file");
    const auto paths = ingest_detail::list_files(root_, {".csv", ".csv.gz", ".txt"});
    std::map<std::string, std::vector<std::string>> by_dir;  // run folder -> its RCAEval files
    for (const auto& p : paths)
      if (is_run_file_name(base_name(p))) by_dir[fs::path(p).parent_path().string()].push_back(p);
    size_t skipped = 0;
    for (const auto& p : paths) {
      const std::string n = base_name(p);
      if (is_run_file_name(n) || !ends_with(n, ".csv") || ingest_detail::is_column_map_name(p)) continue;
      ++skipped;
      if (stats_.notes.size() < ParseStats::max_examples)
        stats_.notes.push_back(cat(p, ": not an RCAEval file (data.csv, metrics.csv, simple_metrics.csv, logs.csv, "
                                      "traces.csv), skipped"));
    }
    for (const auto& [dir, files] : by_dir) add_run(dir, files);
    if (files_.empty()) {
      throw InvalidInput(cat(root_,
                             ": no rcaeval data: looked for run folders (<service>_<fault>/<run>/) holding "
                             "inject_time.txt with data.csv (RE1) or metrics.csv, logs.csv, traces.csv (RE2/RE3); "
                             "found ",
                             runs_.size(), " run folder(s) and ", skipped, " other CSV file(s)"));
    }
    auto count = [&](FileKind k) {
      return std::count_if(files_.begin(), files_.end(), [&](const DataFile& f) { return f.kind == k; });
    };
    if (options_.read_metrics && count(FileKind::kWide) == 0)
      stats_.note_missing(cat(root_, ": no metric files (data.csv, metrics.csv or simple_metrics.csv)"));
    if (options_.read_logs && count(FileKind::kLogs) == 0)
      stats_.note_missing(cat(root_, ": no logs.csv (RE1 has metrics only)"));
    if (options_.read_traces && count(FileKind::kTraces) == 0)
      stats_.note_missing(cat(root_, ": no traces.csv (RE1 has metrics only)"));
  }

  std::string format() const override { return "rcaeval"; }

  std::vector<FaultEvent> faults() override {
    if (faults_read_) return faults_;
    faults_read_ = true;
    const double duration_s =
        options_.fault_duration_s >= 0 ? options_.fault_duration_s : kRcaevalDefaultFaultDurationS;
    for (const auto& run : runs_) {
      if (run.inject_path.empty()) continue;
      FaultEvent ev;
      if (ingest_detail::read_folder_label(run.inject_path, duration_s, stats_, ev)) faults_.push_back(std::move(ev));
    }
    std::stable_sort(faults_.begin(), faults_.end(),
                     [](const FaultEvent& a, const FaultEvent& b) { return a.start < b.start; });
    return faults_;
  }

  std::unique_ptr<RecordStream> open() override {
    std::vector<LazyPart> parts;
    struct Range {
      TimeUs first = 0, last = 0;
      bool any = false;
    };
    std::vector<Range> ranges(runs_.size());
    for (const auto& f : files_) {
      const bool wanted = f.kind == FileKind::kWide   ? options_.read_metrics
                          : f.kind == FileKind::kLogs ? options_.read_logs
                                                      : options_.read_traces;
      if (!wanted) continue;
      Catalog scratch_catalog;
      ParseStats scratch_stats;
      ReadCounts scratch_counts;
      const auto scan_stream = open_file(f, CsvSink{&scratch_catalog, &scratch_stats, &scratch_counts, false});
      const ingest_detail::TimeScan scan = ingest_detail::scan_times(*scan_stream);
      LazyPart part;
      if (scan.any) {
        part.first_time = scan.min_time;
        Range& r = ranges[f.run];
        r.first = r.any ? std::min(r.first, scan.min_time) : scan.min_time;
        r.last = r.any ? std::max(r.last, scan.max_time) : scan.max_time;
        r.any = true;
      }
      const bool sorted = ingest_detail::sort_when_disordered(f.path, scan.max_back, "rows", stats_);
      part.open = [this, f, sorted]() {
        return ingest_detail::sorted_if(sorted, open_file(f, CsvSink{&catalog_, &stats_, &counts_, true}));
      };
      parts.push_back(std::move(part));
    }
    // Runs are separate recordings; say when they overlap in time (their records interleave).
    std::vector<size_t> order;
    for (size_t i = 0; i < runs_.size(); ++i)
      if (ranges[i].any) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a].first < ranges[b].first; });
    size_t latest = order.empty() ? 0 : order[0];
    for (size_t k = 1; k < order.size(); ++k) {
      const size_t i = order[k];
      if (ranges[i].first <= ranges[latest].last && stats_.notes.size() < ParseStats::max_examples)
        stats_.notes.push_back(cat("runs ", runs_[latest].name, " (until ", format_time(ranges[latest].last), ") and ",
                                   runs_[i].name, " (from ", format_time(ranges[i].first),
                                   ") overlap in time: their records are merged in time order and one run's label "
                                   "window may cover the other's records"));
      if (ranges[i].last > ranges[latest].last) latest = i;
    }
    return std::make_unique<LazyMergeStream>(std::move(parts));
  }

 private:
  void add_run(const std::string& dir, const std::vector<std::string>& files) {
    Run run;
    run.dir = dir;
    const fs::path case_dir = ingest_detail::case_folder(fs::path(dir));
    run.name = case_dir == fs::path(dir).lexically_normal() ? case_dir.filename().string()
                                                             : cat(case_dir.filename().string(), "/",
                                                                   fs::path(dir).filename().string());
    std::map<std::string, std::string> by_name;
    for (const auto& p : files) by_name.emplace(base_name(p), p);
    if (auto it = by_name.find("inject_time.txt"); it != by_name.end()) run.inject_path = it->second;
    else stats_.note_missing(cat(dir, ": no inject_time.txt; this run's records are read without a label"));
    const size_t index = runs_.size();
    runs_.push_back(run);
    const bool has_full = by_name.count("data.csv") || by_name.count("metrics.csv");
    for (const auto& [name, path] : by_name) {
      if (name == "inject_time.txt") continue;
      if (name == "simple_metrics.csv" && has_full) {
        if (stats_.notes.size() < ParseStats::max_examples)
          stats_.notes.push_back(cat(path, ": skipped, a summary of the run's ",
                                     by_name.count("metrics.csv") ? "metrics.csv" : "data.csv", " (read instead)"));
        continue;
      }
      std::vector<std::string> header;
      try {
        if (!ingest_detail::read_csv_header(path, header)) {
          stats_.note_missing(cat(path, ": empty file, skipped"));
          continue;
        }
      } catch (const IoError& e) {
        stats_.reject(path, 0, "unreadable_file", e.what());
        continue;
      }
      DataFile f;
      f.path = path;
      f.run = index;
      if (name == "logs.csv") {
        f.kind = FileKind::kLogs;
        if (!log_columns(header, f.cols)) {
          stats_.reject(path, 1, "bad_header", cat("a logs.csv needs the columns ", kLogColumns, "; file skipped"));
          continue;
        }
      } else if (name == "traces.csv") {
        f.kind = FileKind::kTraces;
        if (!trace_columns(header, f.cols)) {
          stats_.reject(path, 1, "bad_header", cat("a traces.csv needs the columns ", kTraceColumns, "; file skipped"));
          continue;
        }
      } else {
        f.kind = FileKind::kWide;
        auto w = ingest_detail::wide_layout(path, header, nullptr);
        if (!w) {
          stats_.reject(path, 1, "bad_header", "no time column (time, timestamp, ts, date or datetime); file skipped");
          continue;
        }
        ingest_detail::report_wide_layout(*w, stats_);
        f.wide = std::move(*w);
      }
      files_.push_back(std::move(f));
    }
  }

  std::string root_;
  ReadOptions options_;
  std::vector<Run> runs_;
  std::vector<DataFile> files_;
  std::vector<FaultEvent> faults_;
  bool faults_read_ = false;
};

}  // namespace

// Certain (2) when a folder within four levels of `path` (or `path` itself)
// holds inject_time.txt beside data.csv, metrics.csv, logs.csv or traces.csv.
int probe_rcaeval(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return 0;
  auto is_run = [&](const fs::path& dir) {
    if (!fs::is_regular_file(dir / "inject_time.txt", ec)) return false;
    for (const char* n : {"data.csv", "metrics.csv", "simple_metrics.csv", "logs.csv", "traces.csv", "data.csv.gz",
                          "metrics.csv.gz", "logs.csv.gz", "traces.csv.gz"})
      if (fs::is_regular_file(dir / n, ec)) return true;
    return false;
  };
  if (is_run(path)) return 2;
  constexpr size_t kMaxEntries = 20000;  // bound the cost on large folders of another format
  size_t seen = 0;
  fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink |
                                                fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator() && seen < kMaxEntries; it.increment(ec), ++seen) {
    std::error_code dec;
    if (!it->is_directory(dec)) continue;
    if (it.depth() >= 3) it.disable_recursion_pending();
    if (is_run(it->path())) return 2;
  }
  return 0;
}

std::unique_ptr<TelemetrySource> open_rcaeval(const std::string& path, const ReadOptions& options) {
  auto src = std::make_unique<RcaevalSource>(path, options);
  src->discover();
  return src;
}

}  // namespace rslicer
