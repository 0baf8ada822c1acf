// Reader for the Nezha / TraStrainer TrainTicket layout (docs/formats.md):
//
//   <root>/[nezha/](rca_data|construct_data)/<YYYY-MM-DD>/{metric,trace,log}/...
//   <root>/[trastrainer/](test|warm_up/<MMDD>)/{metric,trace}/...
//   labels: rca_data/<day>/<day>-fault_list.json, trastrainer test/label.json
//
// Every folder that holds a metric/, trace/ or log/ subfolder is a "day
// folder". Day folders are grouped by calendar date (read from their first
// record); dates are read one after another and the files of one date are
// merged by time, so only one date's files are open at once.
#include <algorithm>
#include <deque>
#include <functional>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/csv.h"
#include "core/errors.h"
#include "core/line_reader.h"
#include "core/strings.h"
#include "core/task_pool.h"
#include "ingest/fault_labels.h"
#include "ingest/formats.h"
#include "logparse/log_line.h"

namespace fs = std::filesystem;

namespace rslicer {

namespace {

bool is_csv_name(const std::string& name) { return ends_with(name, ".csv") || ends_with(name, ".csv.gz"); }

std::vector<std::string> list_csv(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_csv_name(e.path().filename().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// TraStrainer's warm_up/<MMDD>/ folders hold the per-pod metric files directly.
bool has_flat_metric_files(const fs::path& p) {
  for (const auto& f : list_csv(p)) {
    const std::string name = fs::path(f).filename().string();
    if (name.find("_metric.csv") != std::string::npos || starts_with(name, "front_service.csv")) return true;
  }
  return false;
}

bool is_day_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p / "metric", ec) || fs::is_directory(p / "trace", ec) || fs::is_directory(p / "log", ec) ||
         has_flat_metric_files(p);
}

fs::path metric_dir(const fs::path& day) {
  std::error_code ec;
  return fs::is_directory(day / "metric", ec) ? day / "metric" : day;
}

// Folder of one modality of a day folder.
fs::path modality_dir(const fs::path& day, const char* sub) {
  return std::string(sub) == "metric" ? metric_dir(day) : day / sub;
}

// Folders under root (root included) that hold metric/trace/log subfolders.
std::vector<fs::path> find_day_folders(const fs::path& root, int max_depth = 5) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (is_day_folder(root)) {
    out.push_back(root);
    return out;
  }
  if (max_depth == 0 || !fs::is_directory(root, ec)) return out;
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) children.push_back(e.path());
  std::sort(children.begin(), children.end());
  for (const auto& c : children) {
    auto sub = find_day_folders(c, max_depth - 1);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

// Maps header names to column positions; -1 when absent.
struct Columns {
  std::map<std::string, int> index;
  int operator[](const std::string& name) const {
    auto it = index.find(name);
    return it == index.end() ? -1 : it->second;
  }
};

Columns read_header(const std::vector<std::string_view>& header) {
  Columns c;
  for (size_t i = 0; i < header.size(); ++i) c.index[std::string(trim(header[i]))] = static_cast<int>(i);
  return c;
}

// Epoch values outside 2000..2100 are corrupt (overflowed or zero).
bool plausible_time(TimeUs t) {
  constexpr TimeUs lo = 946684800LL * kUsPerSecond, hi = 4102444800LL * kUsPerSecond;
  return t >= lo && t < hi;
}

// Nanosecond epoch (or other unit) column to TimeUs.
bool parse_epoch(std::string_view s, TimeUs& out) {
  if (auto i = parse_int(s)) {
    const EpochUnit unit = guess_epoch_unit(static_cast<double>(*i));
    // Integer nanoseconds exceed double precision: divide exactly.
    out = unit == EpochUnit::kNanos ? *i / 1000 : epoch_to_us(static_cast<double>(*i), unit);
    return true;
  }
  if (auto d = parse_double(s); d && std::isfinite(*d)) {
    out = epoch_to_us(*d, guess_epoch_unit(*d));
    return true;
  }
  return false;
}

// Shared per-source state the file streams write into.
struct NezhaContext {
  Catalog* catalog;
  ParseStats* stats;
  ReadCounts* counts;
  ReadOptions options;
};

// ---- metric files: Time,TimeStamp,PodName|ServiceName,<KPI columns> ----

// TimeStamp (epoch seconds) and Time (date-time text) of one row differ by
// rounding, or by a time zone when Time is local time; beyond a day the row
// is rejected as time_columns_disagree (a clock years off).
constexpr TimeUs kTimeColumnsTolerance = 86400 * kUsPerSecond;
class MetricFileStream {
 public:
  MetricFileStream(const std::string& path, NezhaContext& ctx) : csv_(path), ctx_(ctx) {
    ++ctx_.stats->files_read;
    std::vector<std::string_view> header;
    if (!csv_.next(header)) {
      done_ = true;
      return;
    }
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string h(trim(header[i]));
      if (h == "TimeStamp") ts_col_ = static_cast<int>(i);
      else if (h == "Time") time_col_ = static_cast<int>(i);
      else if (h == "PodName") {
        entity_col_ = static_cast<int>(i);
        kind_ = EntityKind::kPod;
      } else if (h == "ServiceName") {
        entity_col_ = static_cast<int>(i);
        kind_ = EntityKind::kService;
      } else {
        kpi_cols_.push_back(static_cast<int>(i));
        kpi_ids_.push_back(ctx_.catalog->kpis.intern(h));
      }
    }
    columns_ = header.size();
    if (entity_col_ < 0 || (ts_col_ < 0 && time_col_ < 0)) {
      ctx_.stats->reject(path, 1, "bad_header",
                         "metric header lacks TimeStamp/Time or PodName/ServiceName; file skipped");
      done_ = true;
    }
  }

  // Appends every point of the file to out.metrics.
  void drain(RecordBatch& out) {
    while (!done_ && read_row()) out.metrics.insert(out.metrics.end(), pending_.begin(), pending_.end());
  }

  // Appends the points of the next row with any; false at the end of the file.
  bool next_row(std::vector<MetricPoint>& out) {
    if (done_ || !read_row()) return false;
    out.insert(out.end(), pending_.begin(), pending_.end());
    return true;
  }

 private:
  bool read_row() {
    pending_.clear();
    for (;;) {
      if (!csv_.next(fields_)) {
        ctx_.stats->bytes_read += csv_.bytes_read();
        done_ = true;
        return false;
      }
      const auto line = csv_.line_number();
      if (fields_.size() == 1 && trim(fields_[0]).empty()) continue;  // blank line
      if (fields_.size() != columns_) {
        ctx_.stats->reject(csv_.path(), line, "field_count",
                           cat("expected ", columns_, " fields, got ", fields_.size()));
        continue;
      }
      TimeUs t = 0;
      bool have_time = false;
      if (ts_col_ >= 0) {
        have_time = parse_epoch(fields_[ts_col_], t) && plausible_time(t);
      }
      if (have_time && time_col_ >= 0) {
        // Two clocks in one row: when they disagree, neither can be trusted
        // (a real file has TimeStamp 2028 beside Time 2022).
        const auto other = parse_datetime(trim(fields_[time_col_]), true);
        if (other && std::llabs(*other - t) > kTimeColumnsTolerance) {
          ctx_.stats->reject(csv_.path(), line, "time_columns_disagree",
                             cat("TimeStamp '", trim(fields_[ts_col_]), "' (", format_time(t), ") and Time '",
                                 trim(fields_[time_col_]), "' differ by more than ",
                                 kTimeColumnsTolerance / kUsPerSecond, " s"));
          continue;
        }
      }
      if (!have_time && time_col_ >= 0) {
        if (auto v = parse_datetime(trim(fields_[time_col_]), true)) {
          t = *v;
          have_time = true;
        }
      }
      if (!have_time) {
        ctx_.stats->reject(csv_.path(), line, "bad_time",
                           cat("unreadable time '", ts_col_ >= 0 ? fields_[ts_col_] : fields_[time_col_], "'"));
        continue;
      }
      const std::string_view name = trim(fields_[entity_col_]);
      if (name.empty()) {
        ctx_.stats->reject(csv_.path(), line, "missing_entity", "empty pod/service name");
        continue;
      }
      if (name != last_entity_name_) {
        last_entity_name_.assign(name);
        last_entity_ = ctx_.catalog->entity(name, kind_);
      }
      ++ctx_.counts->metric_rows;
      for (size_t k = 0; k < kpi_cols_.size(); ++k) {
        const std::string_view cell = fields_[kpi_cols_[k]];
        if (trim(cell).empty()) {
          ++ctx_.counts->metric_non_finite;
          continue;
        }
        const auto v = parse_double(cell);
        if (!v) {
          ctx_.stats->reject(csv_.path(), line, "bad_number",
                             cat("column ", ctx_.catalog->kpis.name(kpi_ids_[k]), ": not a number '", cell, "'"));
          continue;
        }
        if (!std::isfinite(*v)) {
          ++ctx_.counts->metric_non_finite;
          continue;
        }
        pending_.push_back(MetricPoint{t, last_entity_, kpi_ids_[k], *v});
        ++ctx_.counts->metric_points;
      }
      if (!pending_.empty()) return true;
    }
  }

  CsvReader csv_;
  NezhaContext& ctx_;
  std::vector<std::string_view> fields_;
  size_t columns_ = 0;
  int ts_col_ = -1, time_col_ = -1, entity_col_ = -1;
  EntityKind kind_ = EntityKind::kPod;
  std::vector<int> kpi_cols_;
  std::vector<Id> kpi_ids_;
  std::string last_entity_name_;
  Id last_entity_ = kNoId;
  std::vector<MetricPoint> pending_;  // the points of one row
  bool done_ = false;
};

// ---- trace files: TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration ----
class TraceFileStream {
 public:
  TraceFileStream(const std::string& path, NezhaContext& ctx) : csv_(path), ctx_(ctx) {
    ++ctx_.stats->files_read;
    std::vector<std::string_view> header;
    if (!csv_.next(header)) {
      done_ = true;
      return;
    }
    const Columns c = read_header(header);
    trace_ = c["TraceID"];
    span_ = c["SpanID"];
    parent_ = c["ParentID"];
    pod_ = c["PodName"];
    op_ = c["OperationName"];
    start_ = c["StartTimeUnixNano"];
    end_ = c["EndTimeUnixNano"];
    dur_ = c["Duration"];
    status_ = c["StatusCode"];
    columns_ = header.size();
    if (trace_ < 0 || span_ < 0 || pod_ < 0 || start_ < 0 || (end_ < 0 && dur_ < 0)) {
      ctx_.stats->reject(path, 1, "bad_header",
                         "trace header lacks TraceID/SpanID/PodName/StartTimeUnixNano/EndTimeUnixNano; file skipped");
      done_ = true;
    }
  }

  // Appends every record of the file to `out`.
  void drain(RecordBatch& out) {
    while (read_one(out)) {
    }
  }

 private:
  bool read_one(RecordBatch& out) {
    while (!done_) {
      if (!csv_.next(fields_)) {
        ctx_.stats->bytes_read += csv_.bytes_read();
        done_ = true;
        return false;
      }
      const auto line = csv_.line_number();
      if (fields_.size() == 1 && trim(fields_[0]).empty()) continue;
      if (fields_.size() != columns_) {
        ctx_.stats->reject(csv_.path(), line, "field_count", cat("expected ", columns_, " fields, got ", fields_.size()));
        continue;
      }
      Span s;
      TimeUs end = 0;
      if (!parse_epoch(fields_[start_], s.start) || !plausible_time(s.start)) {
        ctx_.stats->reject(csv_.path(), line, "bad_time", cat("unreadable span start '", fields_[start_], "'"));
        continue;
      }
      if (dur_ >= 0) {
        auto d = parse_double(fields_[dur_]);
        // Up to 1e18 us (31,700 years): casting 1e300 to int64 is undefined (UBSan; tests/fuzz_regressions/nezha/).
        if (!d || !std::isfinite(*d) || *d < 0 || *d > 1e18) {
          ctx_.stats->reject(csv_.path(), line, "bad_number", cat("unreadable duration '", fields_[dur_], "'"));
          continue;
        }
        s.duration_us = static_cast<std::int64_t>(*d);  // microseconds in this format
      } else if (parse_epoch(fields_[end_], end) && end >= s.start) {
        s.duration_us = end - s.start;
      } else {
        ctx_.stats->reject(csv_.path(), line, "bad_time", cat("unreadable span end '", fields_[end_], "'"));
        continue;
      }
      const std::string_view pod = trim(fields_[pod_]);
      const std::string_view span_id = trim(fields_[span_]);
      if (pod.empty() || span_id.empty()) {
        ctx_.stats->reject(csv_.path(), line, "missing_field", "empty PodName or SpanID");
        continue;
      }
      s.entity = ctx_.catalog->entity(pod, EntityKind::kPod);
      s.operation = op_ >= 0 ? ctx_.catalog->operations.intern(trim(fields_[op_])) : kNoId;
      s.trace_id.assign(trim(fields_[trace_]));
      s.span_id.assign(span_id);
      if (parent_ >= 0) {
        const std::string_view p = trim(fields_[parent_]);
        if (p != "root" && p != "-1" && p != "0") s.parent_id.assign(p);
      }
      if (status_ >= 0) {
        if (auto code = parse_int(fields_[status_])) {
          s.status_code = static_cast<std::int32_t>(*code);
          s.error = *code >= 500;
        }
      }
      ++ctx_.counts->spans;
      out.spans.push_back(std::move(s));
      return true;
    }
    return false;
  }

  CsvReader csv_;
  NezhaContext& ctx_;
  std::vector<std::string_view> fields_;
  size_t columns_ = 0;
  int trace_, span_, parent_, pod_, op_, start_, end_, dur_, status_;
  bool done_ = false;
};

// ---- log files: Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log ----
class LogFileStream {
 public:
  LogFileStream(const std::string& path, NezhaContext& ctx) : csv_(path), ctx_(ctx) {
    ++ctx_.stats->files_read;
    std::vector<std::string_view> header;
    if (!csv_.next(header)) {
      done_ = true;
      return;
    }
    const Columns c = read_header(header);
    ts_ = c["Timestamp"];
    nano_ = c["TimeUnixNano"];
    node_ = c["Node"];
    pod_ = c["PodName"];
    trace_ = c["TraceID"];
    span_ = c["SpanID"];
    log_ = c["Log"];
    columns_ = header.size();
    if (pod_ < 0 || log_ < 0 || (ts_ < 0 && nano_ < 0)) {
      ctx_.stats->reject(path, 1, "bad_header", "log header lacks PodName/Log/TimeUnixNano; file skipped");
      done_ = true;
    }
  }

  // Appends every record of the file to `out`.
  void drain(RecordBatch& out) {
    while (read_one(out)) {
    }
  }

 private:
  bool read_one(RecordBatch& out) {
    while (!done_) {
      if (!csv_.next(fields_)) {
        ctx_.stats->bytes_read += csv_.bytes_read();
        done_ = true;
        return false;
      }
      const auto line = csv_.line_number();
      if (fields_.size() == 1 && trim(fields_[0]).empty()) continue;
      if (csv_.unterminated()) {
        ctx_.stats->reject(csv_.path(), line, "unterminated_quote", "quoted field not closed");
        continue;
      }
      if (fields_.size() != columns_) {
        ctx_.stats->reject(csv_.path(), line, "field_count", cat("expected ", columns_, " fields, got ", fields_.size()));
        continue;
      }
      LogRecord r;
      bool have_time = nano_ >= 0 && parse_epoch(fields_[nano_], r.time) && plausible_time(r.time);
      if (!have_time && ts_ >= 0) {
        if (auto t = parse_datetime(trim(fields_[ts_]))) {
          r.time = *t;
          have_time = true;
          if (nano_ >= 0)
            ctx_.stats->repair(csv_.path(), line, "time_from_iso",
                               cat("TimeUnixNano '", fields_[nano_], "' is not a plausible time; used Timestamp '",
                                   trim(fields_[ts_]), "'"));
        }
      }
      if (!have_time) {
        ctx_.stats->reject(csv_.path(), line, "bad_time", "unreadable Timestamp/TimeUnixNano");
        continue;
      }
      const std::string_view pod = trim(fields_[pod_]);
      if (pod.empty()) {
        ctx_.stats->reject(csv_.path(), line, "missing_entity", "empty PodName");
        continue;
      }
      r.entity = ctx_.catalog->entity(pod, EntityKind::kPod);
      if (node_ >= 0) {
        const std::string_view node = trim(fields_[node_]);
        if (!node.empty() && ctx_.catalog->entity_info[r.entity].node == kNoId)
          ctx_.catalog->entity_info[r.entity].node = ctx_.catalog->entity(node, EntityKind::kNode);
      }
      if (trace_ >= 0) r.trace_id.assign(trim(fields_[trace_]));
      if (span_ >= 0) r.span_id.assign(trim(fields_[span_]));
      ParsedLogLine parsed = parse_log_line(fields_[log_]);
      r.level = parsed.level;
      r.message = std::move(parsed.message);
      ++ctx_.counts->log_records;
      out.logs.push_back(std::move(r));
      return true;
    }
    return false;
  }

  CsvReader csv_;
  NezhaContext& ctx_;
  std::vector<std::string_view> fields_;
  size_t columns_ = 0;
  int ts_, nano_, node_, pod_, trace_, span_, log_;
  bool done_ = false;
};

// First record time of a day folder (reads two lines of one file), for ordering.
std::optional<TimeUs> probe_folder_time(const fs::path& day) {
  for (const char* sub : {"metric", "trace", "log"}) {
    for (const auto& f : list_csv(modality_dir(day, sub))) {
      try {
        CsvReader csv(f);
        std::vector<std::string_view> header, row;
        if (!csv.next(header)) continue;
        const Columns c = read_header(header);
        const size_t columns = header.size();  // the views die with the next read; the count does not
        if (!csv.next(row) || row.size() != columns) continue;
        for (const char* col : {"TimeStamp", "StartTimeUnixNano", "TimeUnixNano"}) {
          const int i = c[col];
          TimeUs t;
          if (i >= 0 && parse_epoch(row[i], t)) return t;
        }
      } catch (const IoError&) {
        continue;
      }
    }
  }
  return std::nullopt;
}

constexpr TimeUs kReorderHorizon = 5 * kUsPerMinute;

// ---- parallel reading ----
//
// Files are parsed whole on a TaskPool, each into a ParsedFile under
// file-local ids (workers never touch the shared Catalog or counters). The
// consumer adopts parsed files in a fixed order: it interns their names in
// the source's Catalog, rewrites the ids and merges their counters, so ids,
// counts and reject examples do not depend on thread timing. A date's
// per-pod metric files (each covers the whole day) are parsed together;
// per-minute trace and log files a few files ahead of the merge.

struct ParsedFile {
  Catalog catalog;  // names under file-local ids
  ParseStats stats;
  ReadCounts counts;
  RecordBatch records;
};

// Call from an IoError handler: an unreadable or truncated file is counted
// and skipped (what was read before the error is kept); strict mode rethrows.
void count_unreadable(ParseStats& stats, const ReadOptions& options, const std::string& path, const IoError& e) {
  if (options.strict) throw;
  stats.reject(path, 0, "unreadable_file", e.what());
}

template <typename S>
void parse_file(const std::string& path, const ReadOptions& options, ParsedFile& out) {
  out.stats.strict = options.strict;
  NezhaContext ctx{&out.catalog, &out.stats, &out.counts, options};
  try {
    S stream(path, ctx);
    stream.drain(out.records);
  } catch (const IoError& e) {
    count_unreadable(out.stats, options, path, e);
  }
}

std::vector<MetricPoint>& records_of(RecordBatch& b, const MetricPoint*) { return b.metrics; }
std::vector<Span>& records_of(RecordBatch& b, const Span*) { return b.spans; }
std::vector<LogRecord>& records_of(RecordBatch& b, const LogRecord*) { return b.logs; }

// A file being parsed (or parsed) on the pool.
struct PendingFile {
  TaskPool::Handle task;
  std::shared_ptr<ParsedFile> file;
};

template <typename S>
PendingFile submit_file(TaskPool& pool, const std::string& path, const ReadOptions& options) {
  PendingFile p;
  p.file = std::make_shared<ParsedFile>();
  p.task = pool.submit([path, options, file = p.file]() {
    parse_file<S>(path, options, *file);
    // Per-minute files group spans by trace: sort them here, on the pool (stable: ties keep file order).
    sort_by_time(file->records.spans);
    sort_by_time(file->records.logs);
  });
  return p;
}

// Waits for a parsed file and moves it under the source's ids and counters.
void adopt(ParsedFile& f, NezhaContext& ctx) {
  Catalog& g = *ctx.catalog;
  const Catalog& l = f.catalog;
  std::vector<Id> ent(l.entities.size()), kpi(l.kpis.size()), op(l.operations.size());
  for (Id i = 0; i < ent.size(); ++i) ent[i] = g.entity(l.entities.name(i), l.entity_info[i].kind);
  for (Id i = 0; i < ent.size(); ++i) {
    const Id node = l.entity_info[i].node;
    if (node != kNoId && g.entity_info[ent[i]].node == kNoId) g.entity_info[ent[i]].node = ent[node];
  }
  for (Id i = 0; i < kpi.size(); ++i) kpi[i] = g.kpis.intern(l.kpis.name(i));
  for (Id i = 0; i < op.size(); ++i) op[i] = g.operations.intern(l.operations.name(i));
  for (auto& m : f.records.metrics) {
    m.entity = ent[m.entity];
    m.kpi = kpi[m.kpi];
  }
  for (auto& s : f.records.spans) {
    s.entity = ent[s.entity];
    if (s.operation != kNoId) s.operation = op[s.operation];
  }
  for (auto& r : f.records.logs) r.entity = ent[r.entity];
  ctx.stats->merge(f.stats);
  ctx.counts->add(f.counts);
  f.catalog = Catalog{};
}

std::shared_ptr<ParsedFile> take(TaskPool& pool, PendingFile& p, NezhaContext& ctx) {
  pool.wait(p.task);
  adopt(*p.file, ctx);
  return std::move(p.file);
}


// One input of a date's merge: yields records of type T in time order.
// Metric files: a parsed file in order. Per-minute chains: files parsed a
// few ahead and sorted by time on the pool, then merged here within
// kReorderHorizon (a minute file holds whole traces, so spans and their
// logs straddle file boundaries).
template <typename T>
class MergeInput {
 public:
  // A whole parsed file (metric files).
  explicit MergeInput(std::shared_ptr<ParsedFile> file) : vector_mode_(true), single_(std::move(file)) {}
  // A file read row by row on the reading thread: `refill` appends the next
  // row's records, false at the end (metric files of a date too large to
  // parse ahead). Reads the first row now, so names are interned in file order.
  explicit MergeInput(std::function<bool(std::vector<T>&)> refill) : vector_mode_(true), refill_(std::move(refill)) {
    current();
  }
  // A chain of per-minute files submitted `lookahead` at a time.
  MergeInput(TaskPool& pool, NezhaContext& ctx, std::vector<std::function<PendingFile()>> chain, size_t lookahead)
      : pool_(&pool), ctx_(&ctx), chain_(std::move(chain)), lookahead_(std::max<size_t>(1, lookahead)) {
    top_up();
  }

  // Time of the next record; false when exhausted.
  bool head(TimeUs& t) {
    if (vector_mode_) {
      const std::vector<T>* v = current();
      if (!v) return false;
      t = record_time((*v)[pos_]);
      return true;
    }
    settle();
    const size_t f = min_open();
    if (f == kNone) return false;
    t = open_[f].head();
    return true;
  }

  // Moves records to `out` while (time, index) < (bound_t, bound_i).
  void take_run(std::uint32_t index, TimeUs bound_t, std::uint32_t bound_i, std::vector<T>& out) {
    auto before = [&](TimeUs t) { return t < bound_t || (t == bound_t && index < bound_i); };
    if (vector_mode_) {
      std::vector<T>* v = current();
      do {
        out.push_back(std::move((*v)[pos_++]));
        if (pos_ >= v->size() && !(v = current())) return;
      } while (before(record_time((*v)[pos_])));
      // The merge visits every other input before coming back here: fetch
      // this input's next run now (a date's metric files do not fit in cache).
      const char* next = reinterpret_cast<const char*>(v->data() + pos_);
      const char* end = reinterpret_cast<const char*>(v->data() + v->size());
      for (int line = 0; line < 8 && next + 64 * line < end; ++line) __builtin_prefetch(next + 64 * line);
      return;
    }
    for (;;) {
      settle();
      const size_t f = min_open();
      if (f == kNone || !before(open_[f].head())) return;
      // Run from file f while it leads the other open files (ties: file order).
      TimeUs other = INT64_MAX;
      size_t other_file = kNone;
      for (size_t g = 0; g < open_.size(); ++g)
        if (g != f && !open_[g].done() && open_[g].head() < other) {
          other = open_[g].head();
          other_file = g;
        }
      Open& o = open_[f];
      auto& v = o.records();
      const bool earlier = other_file == kNone || f < other_file;
      do out.push_back(std::move(v[o.pos++]));
      while (o.pos < v.size() && before(record_time(v[o.pos])) &&
             (record_time(v[o.pos]) < other || (earlier && record_time(v[o.pos]) == other)));
      while (!open_.empty() && open_.front().done()) open_.pop_front();
    }
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Vector modes: the records being read (pos_ < size), or null when exhausted.
  std::vector<T>* current() {
    if (single_) {
      auto& v = records_of(single_->records, static_cast<const T*>(nullptr));
      if (pos_ < v.size()) return &v;
      single_.reset();  // free the file
      return nullptr;
    }
    while (refill_ && pos_ >= rows_.size()) {
      rows_.clear();
      pos_ = 0;
      if (!refill_(rows_)) refill_ = nullptr;
    }
    return refill_ ? &rows_ : nullptr;
  }

  struct Open {
    std::shared_ptr<ParsedFile> file;
    size_t pos = 0;
    std::vector<T>& records() { return records_of(file->records, static_cast<const T*>(nullptr)); }
    bool done() { return pos >= records().size(); }
    TimeUs head() { return record_time(records()[pos]); }
  };

  // The open file with the earliest head (ties: the earlier file), or kNone.
  size_t min_open() {
    size_t best = kNone;
    for (size_t g = 0; g < open_.size(); ++g)
      if (!open_[g].done() && (best == kNone || open_[g].head() < open_[best].head())) best = g;
    return best;
  }
  void top_up() {
    while (pending_.size() < lookahead_ && next_submit_ < chain_.size()) pending_.push_back(chain_[next_submit_++]());
  }
  // Opens files until no unopened file can hold a record before the earliest head.
  void settle() {
    for (;;) {
      if (pending_.empty()) return;
      const size_t f = min_open();
      if (f != kNone && open_[f].head() <= max_seen_ - kReorderHorizon) return;
      PendingFile p = std::move(pending_.front());
      pending_.pop_front();
      top_up();
      Open o{take(*pool_, p, *ctx_), 0};
      if (o.done()) continue;
      max_seen_ = std::max(max_seen_, record_time(o.records().back()));  // sorted: the last is the newest
      open_.push_back(std::move(o));
    }
  }

  bool vector_mode_ = false;
  std::shared_ptr<ParsedFile> single_;
  std::function<bool(std::vector<T>&)> refill_;
  std::vector<T> rows_;  // refill_'s records
  size_t pos_ = 0;
  TaskPool* pool_ = nullptr;
  NezhaContext* ctx_ = nullptr;
  std::vector<std::function<PendingFile()>> chain_;
  size_t lookahead_ = 1, next_submit_ = 0;
  std::deque<PendingFile> pending_;
  std::deque<Open> open_;  // opened files in chain order, each sorted by time
  TimeUs max_seen_ = INT64_MIN / 2;
};

// The merge of one date: every input by time, ties by input order (the
// folder order, then metric files, traces, logs).
class DateStream : public BatchedStream {
 public:
  DateStream() = default;
  void add(MergeInput<MetricPoint> in) {
    metrics_.push_back(std::move(in));
    order_.push_back({0, metrics_.size() - 1});
  }
  void add(MergeInput<Span> in) {
    spans_.push_back(std::move(in));
    order_.push_back({1, spans_.size() - 1});
  }
  void add(MergeInput<LogRecord> in) {
    logs_.push_back(std::move(in));
    order_.push_back({2, logs_.size() - 1});
  }

  bool next_batch(RecordBatch& out) override {
    constexpr size_t kBatch = 16384;
    if (!primed_) {
      primed_ = true;
      for (std::uint32_t i = 0; i < order_.size(); ++i) push_head(i);
    }
    const size_t start = out.size();
    while (!heap_.empty() && out.size() - start < kBatch) {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
      const std::uint32_t i = heap_.back().second;
      heap_.pop_back();
      const TimeUs bt = heap_.empty() ? INT64_MAX : heap_.front().first;
      const std::uint32_t bi = heap_.empty() ? UINT32_MAX : heap_.front().second;
      const auto [kind, k] = order_[i];
      if (kind == 0) metrics_[k].take_run(i, bt, bi, out.metrics);
      else if (kind == 1) spans_[k].take_run(i, bt, bi, out.spans);
      else logs_[k].take_run(i, bt, bi, out.logs);
      push_head(i);
    }
    return out.size() > start;
  }

 private:
  void push_head(std::uint32_t i) {
    const auto [kind, k] = order_[i];
    TimeUs t;
    const bool more = kind == 0 ? metrics_[k].head(t) : kind == 1 ? spans_[k].head(t) : logs_[k].head(t);
    if (!more) return;
    heap_.emplace_back(t, i);
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
  }

  std::vector<MergeInput<MetricPoint>> metrics_;
  std::vector<MergeInput<Span>> spans_;
  std::vector<MergeInput<LogRecord>> logs_;
  std::vector<std::pair<int, size_t>> order_;  // input number -> (modality, index)
  std::vector<std::pair<TimeUs, std::uint32_t>> heap_;
  bool primed_ = false;
};

// Reads dates one after another, each a DateStream. The next date's metric
// files are submitted when a date starts, so parsing runs ahead of the merge.
class NezhaStream : public BatchedStream {
 public:
  NezhaStream(std::vector<std::vector<fs::path>> dates, NezhaContext& ctx)
      : dates_(std::move(dates)), ctx_(ctx), pool_(parse_threads(ctx.options)) {}

  bool next_batch(RecordBatch& out) override {
    for (;;) {
      if (current_ && current_->next_batch(out)) return true;
      if (!open_next()) return false;
    }
  }

 private:
  static size_t parse_threads(const ReadOptions& o) {
    return o.parse_threads < 0 ? TaskPool::default_threads() : static_cast<size_t>(o.parse_threads);
  }

  // Whether date d's metric files are parsed ahead on the pool (all of them
  // at once, so their points sit in memory until the date is merged): only
  // while their compressed size is within ReadOptions::parse_ahead_mb.
  bool parse_ahead(size_t d) const {
    double bytes = 0;
    for (const auto& folder : dates_[d])
      for (const auto& f : list_csv(metric_dir(folder))) {
        std::error_code ec;
        const auto n = fs::file_size(f, ec);
        if (!ec) bytes += static_cast<double>(n);
      }
    return bytes <= ctx_.options.parse_ahead_mb * 1024 * 1024;
  }

  // Metric files of date d, per folder, submitted to the pool (none when the
  // date is read row by row).
  std::vector<std::vector<PendingFile>> submit_metrics(size_t d) {
    std::vector<std::vector<PendingFile>> out(dates_[d].size());
    if (!ctx_.options.read_metrics || !parse_ahead(d)) return out;
    for (size_t i = 0; i < dates_[d].size(); ++i)
      for (const auto& f : list_csv(metric_dir(dates_[d][i])))
        out[i].push_back(submit_file<MetricFileStream>(pool_, f, ctx_.options));
    return out;
  }

  // A metric file read row by row on this thread, into the source's ids.
  void add_direct(DateStream& date, const std::string& path) {
    std::shared_ptr<MetricFileStream> s;
    try {
      s = std::make_shared<MetricFileStream>(path, ctx_);
    } catch (const IoError& e) {
      count_unreadable(*ctx_.stats, ctx_.options, path, e);
      return;
    }
    NezhaContext* ctx = &ctx_;
    date.add(MergeInput<MetricPoint>([s, ctx, path](std::vector<MetricPoint>& out) {
      try {
        return s->next_row(out);
      } catch (const IoError& e) {  // a truncated file: keep what was read, as parse_file does
        count_unreadable(*ctx->stats, ctx->options, path, e);
        return false;
      }
    }));
  }

  template <typename S>
  std::vector<std::function<PendingFile()>> chain(const fs::path& dir) {
    std::vector<std::function<PendingFile()>> out;
    for (const auto& f : list_csv(dir))
      out.push_back([this, f]() { return submit_file<S>(pool_, f, ctx_.options); });
    return out;
  }

  bool open_next() {
    current_.reset();
    if (next_date_ >= dates_.size()) return false;
    const size_t d = next_date_++;
    const bool ahead = parse_ahead(d);
    auto metrics = d == 0 ? submit_metrics(0) : std::move(next_metrics_);
    const size_t lookahead = 2 * pool_.threads() + 2;
    auto date = std::make_unique<DateStream>();
    for (size_t i = 0; i < dates_[d].size(); ++i) {
      const fs::path& folder = dates_[d][i];
      for (auto& p : metrics[i]) date->add(MergeInput<MetricPoint>(take(pool_, p, ctx_)));
      if (!ahead && ctx_.options.read_metrics)
        for (const auto& f : list_csv(metric_dir(folder))) add_direct(*date, f);
      if (ctx_.options.read_traces)
        date->add(MergeInput<Span>(pool_, ctx_, chain<TraceFileStream>(folder / "trace"), lookahead));
      if (ctx_.options.read_logs)
        date->add(MergeInput<LogRecord>(pool_, ctx_, chain<LogFileStream>(folder / "log"), lookahead));
    }
    if (next_date_ < dates_.size()) next_metrics_ = submit_metrics(next_date_);
    current_ = std::move(date);
    return true;
  }

  std::vector<std::vector<fs::path>> dates_;
  NezhaContext& ctx_;
  TaskPool pool_;  // declared before the streams that wait on it
  size_t next_date_ = 0;
  std::vector<std::vector<PendingFile>> next_metrics_;
  std::unique_ptr<DateStream> current_;
};

class NezhaSource : public TelemetrySource {
 public:
  NezhaSource(const std::string& root, const ReadOptions& options) : root_(root) {
    ctx_ = NezhaContext{&catalog_, &stats_, &counts_, options};
    stats_.strict = options.strict;
    const double dur = options.fault_duration_s >= 0 ? options.fault_duration_s : kNezhaDefaultFaultDurationS;
    fault_duration_ = static_cast<TimeUs>(dur * kUsPerSecond);
    days_ = find_day_folders(root_);
    RSLICER_CHECK(!days_.empty(), InvalidInput, root,
                  ": no nezha day folder found (a folder with metric/, trace/ or log/ subfolders holding *.csv or "
                  "*.csv.gz files)");
    for (const auto& d : days_) {
      const auto t = probe_folder_time(d);
      if (!t) {
        stats_.note_missing(cat(d.string(), ": no readable record; folder skipped"));
        continue;
      }
      const std::int64_t date = *t / (86400 * kUsPerSecond);
      by_date_[date].push_back(d);
      for (const char* sub : {"metric", "trace", "log"}) {
        std::error_code ec;
        if (!fs::is_directory(modality_dir(d, sub), ec))
          stats_.note_missing(cat((d / sub).string(), ": absent; that modality is masked for these days"));
      }
    }
  }

  std::string format() const override { return "nezha"; }

  std::vector<FaultEvent> faults() override {
    std::vector<FaultEvent> out;
    std::set<std::tuple<TimeUs, std::string, std::string>> seen;
    std::vector<fs::path> label_files;
    for (const auto& d : days_) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(d, ec)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && (ends_with(name, "fault_list.json") || name == "label.json"))
          label_files.push_back(e.path());
      }
    }
    std::sort(label_files.begin(), label_files.end());
    for (const auto& f : label_files) read_labels(f.string(), out, seen);
    std::sort(out.begin(), out.end(), [](const FaultEvent& a, const FaultEvent& b) {
      return std::tie(a.start, a.root_cause) < std::tie(b.start, b.root_cause);
    });
    return out;
  }

  std::unique_ptr<RecordStream> open() override {
    std::vector<std::vector<fs::path>> dates;
    for (const auto& [date, folders] : by_date_) dates.push_back(folders);
    return std::make_unique<NezhaStream>(std::move(dates), ctx_);
  }

 private:
  void read_labels(const std::string& path, std::vector<FaultEvent>& out,
                   std::set<std::tuple<TimeUs, std::string, std::string>>& seen) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(path));
    } catch (const nlohmann::json::exception& e) {
      throw InvalidInput(cat(path, ": not valid JSON: ", e.what()));
    }
    RSLICER_CHECK(j.is_object(), InvalidInput, path, ": expected an object {hour: [faults]}");
    int index = 0;
    for (const auto& [hour, list] : j.items()) {
      if (!list.is_array()) {
        stats_.reject(path, 0, "bad_label", cat("hour '", hour, "': expected a list of faults"));
        continue;
      }
      for (const auto& f : list) {
        ++index;
        const std::string where = cat("fault #", index, " (hour ", hour, ")");
        if (!f.is_object() || !f.contains("inject_time") || !f.contains("inject_pod") || !f.contains("inject_type")) {
          stats_.reject(path, 0, "bad_label", where + ": needs inject_time, inject_pod and inject_type");
          continue;
        }
        // inject_time is UTC; inject_timestamp is wrong for many faults (README).
        const std::string when = f["inject_time"].is_string() ? f["inject_time"].get<std::string>() : "";
        const auto t = parse_datetime(when);
        if (!t) {
          stats_.reject(path, 0, "bad_label", cat(where, ": unreadable inject_time '", when, "'"));
          continue;
        }
        FaultEvent e;
        e.start = *t;
        e.end = *t + fault_duration_;
        // not in the published files: the simulator writes how long its fault lasted (docs/formats.md)
        if (f.contains("duration_s")) {
          const auto du = ingest_detail::label_duration_us(f["duration_s"]);
          if (!du) {
            stats_.reject(path, 0, "bad_label", cat(where, ": invalid duration_s ", f["duration_s"].dump()));
            continue;
          }
          e.end = *t + *du;
        }
        e.level = "pod";
        e.root_cause = f["inject_pod"].is_string() ? f["inject_pod"].get<std::string>() : "";
        e.fault_type = f["inject_type"].is_string() ? f["inject_type"].get<std::string>() : "";
        e.source = cat(path, " ", where);
        if (e.root_cause.empty() || e.fault_type.empty()) {
          stats_.reject(path, 0, "bad_label", where + ": empty inject_pod or inject_type");
          continue;
        }
        if (!seen.insert({e.start, e.root_cause, e.fault_type}).second) continue;  // same fault in two label files
        out.push_back(std::move(e));
      }
    }
  }

  fs::path root_;
  NezhaContext ctx_;
  TimeUs fault_duration_;
  std::vector<fs::path> days_;
  std::map<std::int64_t, std::vector<fs::path>> by_date_;
};

}  // namespace

int probe_nezha(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return 0;
  const auto days = find_day_folders(path);
  if (days.empty()) return 0;
  for (const auto& d : days) {
    for (const char* sub : {"metric", "trace", "log"}) {
      const auto files = list_csv(modality_dir(d, sub));
      if (files.empty()) continue;
      try {
        LineReader r(files.front());
        std::string_view header;
        if (!r.next(header)) continue;
        if (header.find("PodName") != std::string_view::npos || header.find("ServiceName") != std::string_view::npos)
          return 2;
      } catch (const IoError&) {
      }
    }
  }
  return 1;
}

std::unique_ptr<TelemetrySource> open_nezha(const std::string& path, const ReadOptions& options) {
  return std::make_unique<NezhaSource>(path, options);
}

}  // namespace rslicer
