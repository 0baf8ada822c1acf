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
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/csv.h"
#include "core/errors.h"
#include "core/line_reader.h"
#include "core/strings.h"
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
class MetricFileStream : public RecordStream {
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

  bool next(Record& out) override {
    while (pending_index_ >= pending_.size()) {
      if (done_ || !read_row()) return false;
    }
    out = pending_[pending_index_++];
    return true;
  }

 private:
  bool read_row() {
    pending_.clear();
    pending_index_ = 0;
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
  std::vector<MetricPoint> pending_;
  size_t pending_index_ = 0;
  bool done_ = false;
};

// ---- trace files: TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration ----
class TraceFileStream : public RecordStream {
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

  bool next(Record& out) override {
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
        if (!d || !std::isfinite(*d) || *d < 0) {
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
      out = std::move(s);
      return true;
    }
    return false;
  }

 private:
  CsvReader csv_;
  NezhaContext& ctx_;
  std::vector<std::string_view> fields_;
  size_t columns_ = 0;
  int trace_, span_, parent_, pod_, op_, start_, end_, dur_, status_;
  bool done_ = false;
};

// ---- log files: Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log ----
class LogFileStream : public RecordStream {
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

  bool next(Record& out) override {
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
      out = std::move(r);
      return true;
    }
    return false;
  }

 private:
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
    std::vector<StreamFactory> dates;
    for (const auto& [date, folders] : by_date_) {
      dates.push_back([this, folders = folders]() -> std::unique_ptr<RecordStream> {
        std::vector<std::unique_ptr<RecordStream>> parts;
        for (const auto& d : folders) {
          if (ctx_.options.read_metrics)
            for (const auto& f : list_csv(metric_dir(d))) parts.push_back(open_file<MetricFileStream>(f));
          // Per-minute files hold whole traces, so spans (and their logs) straddle file boundaries.
          if (ctx_.options.read_traces)
            parts.push_back(std::make_unique<ReorderStream>(chain<TraceFileStream>(list_csv(d / "trace")), kReorderHorizon));
          if (ctx_.options.read_logs)
            parts.push_back(std::make_unique<ReorderStream>(chain<LogFileStream>(list_csv(d / "log")), kReorderHorizon));
        }
        return std::make_unique<MergeStream>(std::move(parts));
      });
    }
    return std::make_unique<ChainStream>(std::move(dates));
  }

 private:
  template <typename S>
  std::unique_ptr<RecordStream> open_file(const std::string& path) {
    try {
      return std::make_unique<S>(path, ctx_);
    } catch (const IoError& e) {
      if (ctx_.options.strict) throw;
      stats_.reject(path, 0, "unreadable_file", e.what());
      return nullptr;
    }
  }

  template <typename S>
  std::unique_ptr<RecordStream> chain(const std::vector<std::string>& files) {
    std::vector<StreamFactory> parts;
    for (const auto& f : files) parts.push_back([this, f]() { return open_file<S>(f); });
    return std::make_unique<ChainStream>(std::move(parts));
  }

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
