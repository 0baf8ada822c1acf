// Reader for the CCF AIOps 2022 challenge schema (also used by MicroServo and
// OpenRCA's "Market" bundles). Files are classified by their CSV header, not
// by name, so both the original layout
//   <day>-cloudbed<N>/metric/{container,istio,jvm,node,service}/*.csv
//   <day>-cloudbed<N>/trace/all/trace_jaeger-span.csv
//   <day>-cloudbed<N>/log/all/log_filebeat-testbed-log-{service,envoy}.csv
//   groundtruth/groundtruth-k8s-<N>-<day>.csv
// and any flat folder of *.csv / *.csv.gz work. See docs/formats.md.
#include <deque>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/errors.h"
#include "core/strings.h"
#include "core/time.h"
#include "ingest/aiops22_shared.h"
#include "ingest/formats.h"
#include "ingest/wide_csv.h"

namespace rslicer {

namespace {

using ingest_detail::all_digits;
using ingest_detail::is_ipv4;
using ingest_detail::is_node_name;
using ingest_detail::kind_of_name;
using ingest_detail::LazyMergeStream;
using ingest_detail::LazyPart;
using ingest_detail::sort_when_disordered;
using ingest_detail::sorted_if;

enum class FileKind { kMetric, kServiceMetric, kTrace, kLog, kGroundTruth };

constexpr const char* kSchemas =
    "metrics (timestamp,cmdb_id,kpi_name,value), service metrics (service,timestamp,rr,sr,mrt,count), "
    "traces (timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span), "
    "logs (log_id,timestamp,cmdb_id,log_name,value or log_id,timestamp,date,cmdb_id,message) or ground truth "
    "(timestamp,level,cmdb_id,failure_type)";

// Column positions of one file, -1 when absent.
struct Columns {
  size_t count = 0;  // fields in the header
  int timestamp = -1, cmdb_id = -1, kpi_name = -1, value = -1;
  int span_id = -1, trace_id = -1, duration = -1, type = -1, status_code = -1, operation_name = -1,
      parent_span = -1;
  int log_name = -1, log_trace_id = -1, log_span_id = -1;
  int level = -1, failure_type = -1, fault_duration = -1;
  int service = -1;
  std::vector<std::pair<int, std::string>> service_kpis;  // (column, KPI name) of rr, sr, mrt, count
};

// How the folder holding a metric file names its entities: the original
// layout keeps node, container (pod) and service metrics in folders of
// those names.
enum class Hint { kNone, kNode, kPod, kService };

struct FileInfo {
  std::string path;
  FileKind kind = FileKind::kMetric;
  Columns cols;
  Hint hint = Hint::kNone;
};

std::optional<FileInfo> classify_header(const std::string& path, const std::vector<std::string>& header) {
  std::unordered_map<std::string, int> at;
  for (size_t i = 0; i < header.size(); ++i) at.emplace(header[i], static_cast<int>(i));
  auto col = [&](const char* name) {
    auto it = at.find(name);
    return it == at.end() ? -1 : it->second;
  };
  auto has = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (col(n) < 0) return false;
    return true;
  };
  FileInfo f;
  f.path = path;
  Columns& c = f.cols;
  c.count = header.size();
  c.timestamp = col("timestamp");
  c.cmdb_id = col("cmdb_id");
  if (has({"timestamp", "cmdb_id", "span_id", "trace_id", "duration", "operation_name", "parent_span"})) {
    f.kind = FileKind::kTrace;
    c.span_id = col("span_id");
    c.trace_id = col("trace_id");
    c.duration = col("duration");
    c.type = col("type");
    c.status_code = col("status_code");
    c.operation_name = col("operation_name");
    c.parent_span = col("parent_span");
  } else if (has({"timestamp", "cmdb_id", "kpi_name", "value"})) {
    f.kind = FileKind::kMetric;
    c.kpi_name = col("kpi_name");
    c.value = col("value");
  } else if (has({"timestamp", "cmdb_id", "log_name", "value"}) || has({"log_id", "timestamp", "cmdb_id", "message"})) {
    // The challenge's logs, or MicroServo's (log_id,timestamp,date,cmdb_id,message).
    f.kind = FileKind::kLog;
    c.log_name = col("log_name");
    c.value = col("log_name") >= 0 ? col("value") : col("message");
    c.log_trace_id = col("trace_id");  // extension written by write_dataset
    c.log_span_id = col("span_id");
  } else if (has({"timestamp", "level", "cmdb_id", "failure_type"})) {
    f.kind = FileKind::kGroundTruth;
    c.level = col("level");
    c.failure_type = col("failure_type");
    c.fault_duration = col("duration");  // extension: seconds, when the label has it
  } else if (has({"service", "timestamp"})) {
    f.kind = FileKind::kServiceMetric;
    c.service = col("service");
    for (const char* k : {"rr", "sr", "mrt", "count"})
      if (col(k) >= 0) c.service_kpis.emplace_back(col(k), k);
    if (c.service_kpis.empty()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return f;
}

// Reads the header of a CSV file: lower-cased, trimmed, BOM removed.
// Returns false for an empty file. Throws IoError when unreadable.
bool read_header(const std::string& path, std::vector<std::string>& out) {
  CsvReader csv(path);
  std::vector<std::string_view> fields;
  if (!csv.next(fields)) return false;
  out.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    if (i == 0 && starts_with(f, "\xEF\xBB\xBF")) f.remove_prefix(3);
    out.push_back(to_lower(trim(f)));
  }
  return !(out.size() == 1 && out[0].empty());
}

// Splits a raw log value into level and message:
//  - "severity: info, message: text"  -> INFO, "text" (Online Boutique, and what write_dataset writes);
//    "level:debug,message:text" (MicroServo) the same
//  - JSON objects with severity/level and message/msg fields -> that level and message
//  - otherwise the first level word (INFO, [WARN], level=error ...) among the first
//    six tokens gives the level and the message is the whole value.
void split_log_value(std::string_view v, LogLevel& level, std::string& message) {
  level = LogLevel::kUnknown;
  if (starts_with(v, "severity:") || starts_with(v, "level:")) {
    std::string_view rest = v.substr(v.find(':') + 1);
    const size_t comma = rest.find(',');
    level = parse_log_level(trim(rest.substr(0, comma)));
    if (comma != std::string_view::npos) {
      const std::string_view after = trim(rest.substr(comma + 1));
      if (starts_with(after, "message:")) {
        message.assign(trim(after.substr(8)));
        return;
      }
    }
    message.assign(v);
    return;
  }
  if (!v.empty() && v.front() == '{') {
    const auto j = nlohmann::json::parse(v, nullptr, false);
    if (j.is_object()) {
      for (const char* k : {"severity", "level", "loglevel", "log.level"}) {
        auto it = j.find(k);
        if (it != j.end() && it->is_string()) {
          level = parse_log_level(it->get<std::string>());
          break;
        }
      }
      for (const char* k : {"message", "msg"}) {
        auto it = j.find(k);
        if (it != j.end() && it->is_string()) {
          message = it->get<std::string>();
          return;
        }
      }
      message.assign(v);
      return;
    }
  }
  message.assign(v);
  size_t pos = 0;
  for (int token = 0; token < 6 && pos < v.size(); ++token) {
    while (pos < v.size() && (v[pos] == ' ' || v[pos] == '\t')) ++pos;
    size_t end = pos;
    while (end < v.size() && v[end] != ' ' && v[end] != '\t') ++end;
    std::string_view t = v.substr(pos, end - pos);
    pos = end;
    if (starts_with(t, "level=")) t.remove_prefix(6);
    while (!t.empty() && std::string_view("[](){}<>:,|\"'").find(t.front()) != std::string_view::npos) t.remove_prefix(1);
    while (!t.empty() && std::string_view("[](){}<>:,|\"'").find(t.back()) != std::string_view::npos) t.remove_suffix(1);
    if (t.size() < 3) continue;  // single letters ("I", "E") are too ambiguous in free text
    const LogLevel l = parse_log_level(t);
    if (l != LogLevel::kUnknown) {
      level = l;
      return;
    }
  }
}

// Status rule, see docs/formats.md: an optional integer code and an optional
// word. A word decides (error/err/fail... -> error; ok/unset/success -> not);
// without one the code decides (ingest_detail::status_implies_error).
void parse_status(std::string_view s, std::int32_t& code, bool& error) {
  s = trim(s);
  code = 0;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i > 0) {
    const auto v = parse_int(s.substr(0, i));
    if (v && *v < (1LL << 31)) code = static_cast<std::int32_t>(*v);
  }
  const std::string word = to_lower(trim(s.substr(i)));
  if (word.empty()) {
    error = ingest_detail::status_implies_error(code);
  } else if (word.find("err") != std::string::npos || word.find("fail") != std::string::npos ||
             word.find("exception") != std::string::npos) {
    error = true;
  } else {
    error = false;  // "Ok", "OK", "unset", "success", unknown words
  }
}

bool is_root_parent(std::string_view p) {
  if (p.empty()) return true;
  const std::string l = to_lower(p);
  if (l == "root" || l == "none" || l == "null" || l == "nan" || l == "-1") return true;
  return l.find_first_not_of('0') == std::string::npos;
}

const char* unit_name(EpochUnit u) {
  switch (u) {
    case EpochUnit::kSeconds: return "seconds";
    case EpochUnit::kMillis: return "milliseconds";
    case EpochUnit::kMicros: return "microseconds";
    case EpochUnit::kNanos: return "nanoseconds";
  }
  return "?";
}

// Where a stream puts what it reads; peeks use throw-away counters.
using Sink = ingest_detail::CsvSink;

// Reads one CSV file of the metric, service-metric, trace, log or ground
// truth schema row by row.
class Aiops22FileStream : public ingest_detail::CsvRowStream {
 public:
  Aiops22FileStream(FileInfo f, Sink sink, std::int64_t row_limit = -1)
      : CsvRowStream(f.path, f.cols.count, sink, row_limit), f_(std::move(f)) {}

  // Ground-truth rows, read eagerly (label files are small).
  void read_faults(std::vector<FaultEvent>& out, double default_duration_s) {
    while (next_well_formed_row()) {
      FaultEvent ev;
      if (!parse_time(field(f_.cols.timestamp), ev.start)) continue;
      ev.root_cause = std::string(trim(field(f_.cols.cmdb_id)));
      if (ev.root_cause.empty()) {
        reject("missing_field", "empty cmdb_id");
        continue;
      }
      ev.level = to_lower(trim(field(f_.cols.level)));
      ev.fault_type = std::string(trim(field(f_.cols.failure_type)));
      double duration_s = default_duration_s;
      if (f_.cols.fault_duration >= 0 && !trim(field(f_.cols.fault_duration)).empty()) {
        const auto d = parse_double(field(f_.cols.fault_duration));
        // Up to 1e12 s (31,700 years), so that start + duration cannot overflow
        // (UBSan; tests/fuzz_regressions/aiops22/).
        if (!d || !std::isfinite(*d) || *d < 0 || *d > 1e12) {
          reject("bad_number", cat("duration '", field(f_.cols.fault_duration), "' is not a non-negative number"));
          continue;
        }
        duration_s = *d;
      }
      ev.end = ev.start + static_cast<TimeUs>(std::llround(duration_s * 1e6));
      ev.source = cat(f_.path, ":", line_number());
      out.push_back(std::move(ev));
    }
  }

 protected:
  bool row(Record& out) override {
    switch (f_.kind) {
      case FileKind::kMetric: return metric_row(out);
      case FileKind::kServiceMetric: return service_row(out);
      case FileKind::kTrace: return trace_row(out);
      case FileKind::kLog: return log_row(out);
      case FileKind::kGroundTruth: return false;  // read by faults()
    }
    return false;
  }

 private:
  // Epoch number in the unit of the file's first valid row, or a datetime
  // string ("2022-03-20 16:00:00", ISO-8601).
  bool parse_time(std::string_view text, TimeUs& out) {
    const std::string_view s = trim(text);
    const auto v = parse_double(s);
    if (v && std::isfinite(*v)) {
      const EpochUnit u = guess_epoch_unit(*v);
      if (!unit_) unit_ = u;
      if (u != *unit_) {
        reject("time_unit", cat("timestamp '", s, "' looks like ", unit_name(u), " but this file's first row used ",
                                unit_name(*unit_)));
        return false;
      }
      out = epoch_to_us(*v, *unit_);
      return true;
    }
    if (const auto t = parse_datetime(s)) {
      out = *t;
      return true;
    }
    reject("bad_time", cat("timestamp '", s, "' is neither an epoch number nor a date-time"));
    return false;
  }

  // Entity and KPI suffix of a metric cmdb_id, cached per file.
  struct Resolved {
    Id entity;
    std::string kpi_suffix;  // "@rest" for ids with a dotted tail (istio peers, jvm ports)
  };

  const Resolved& resolve_metric(std::string_view cmdb) {
    auto it = metric_entities_.find(std::string(cmdb));
    if (it != metric_entities_.end()) return it->second;
    Catalog& catalog = *sink_.catalog;
    Resolved r{kNoId, {}};
    std::string_view node, rest = cmdb;
    switch (f_.hint) {
      case Hint::kNode: r.entity = catalog.entity(cmdb, EntityKind::kNode); break;
      case Hint::kService: r.entity = catalog.entity(cmdb, EntityKind::kService); break;
      case Hint::kPod: {
        // "<node>.<pod>" in the original container metrics, or a bare pod.
        const size_t dot = cmdb.find('.');
        if (dot != std::string_view::npos) {
          node = cmdb.substr(0, dot);
          rest = cmdb.substr(dot + 1);
        }
        r.entity = catalog.entity(rest, EntityKind::kPod);
        break;
      }
      case Hint::kNone: {
        if (is_ipv4(cmdb)) {
          r.entity = catalog.entity(cmdb, EntityKind::kNode);
          break;
        }
        // "<node>.<pod>": a node name (node-1, an IPv4 address), or any name
        // that is no pod followed by one that is (MicroServo's
        // "observe.cartservice-0": node "observe", pod "cartservice-0").
        const size_t dot = cmdb.find('.');
        if (dot != std::string_view::npos && dot + 1 < cmdb.size()) {
          const std::string_view head = cmdb.substr(0, dot), tail = cmdb.substr(dot + 1);
          const std::string_view tail_name = tail.substr(0, tail.find('.'));
          if (is_node_name(head) ||
              (kind_of_name(head) != EntityKind::kPod && kind_of_name(tail_name) == EntityKind::kPod)) {
            node = head;
            rest = tail;
          }
        }
        const size_t dot2 = rest.find('.');
        std::string_view name = rest;
        if (dot2 != std::string_view::npos) {
          name = rest.substr(0, dot2);
          r.kpi_suffix = cat("@", rest.substr(dot2 + 1));
        }
        r.entity = catalog.entity(name, kind_of_name(name));
        break;
      }
    }
    if (!node.empty() && catalog.entity_info[r.entity].kind == EntityKind::kPod) {
      const Id nid = catalog.entity(node, EntityKind::kNode);
      if (catalog.entity_info[r.entity].node == kNoId) catalog.entity_info[r.entity].node = nid;
    }
    return metric_entities_.emplace(std::string(cmdb), std::move(r)).first->second;
  }

  Id resolve_plain(std::string_view cmdb) {
    auto it = plain_entities_.find(std::string(cmdb));
    if (it != plain_entities_.end()) return it->second;
    const Id id = sink_.catalog->entity(cmdb, kind_of_name(cmdb));
    plain_entities_.emplace(std::string(cmdb), id);
    return id;
  }

  // Value check shared by both metric schemas: true and `v` set for a finite
  // value; false after counting a missing/non-finite value or rejecting text.
  bool metric_value(std::string_view text, const char* column, double& v, bool& rejected) {
    rejected = false;
    const std::string_view s = trim(text);
    if (s.empty()) {
      ++sink_.counts->metric_non_finite;
      return false;
    }
    const auto d = parse_double(s);
    if (!d) {
      reject("bad_number", cat(column, " '", s, "' is not a number"));
      rejected = true;
      return false;
    }
    if (!std::isfinite(*d)) {
      ++sink_.counts->metric_non_finite;
      return false;
    }
    v = *d;
    return true;
  }

  // The timestamp and cmdb_id every data row starts with; false (and the
  // row counted as rejected) when either is unusable.
  bool row_time_and_cmdb(TimeUs& time, std::string_view& cmdb) {
    if (!parse_time(field(f_.cols.timestamp), time)) return false;
    cmdb = trim(field(f_.cols.cmdb_id));
    if (cmdb.empty()) {
      reject("missing_field", "empty cmdb_id");
      return false;
    }
    return true;
  }

  bool metric_row(Record& out) {
    MetricPoint p;
    std::string_view cmdb;
    if (!row_time_and_cmdb(p.time, cmdb)) return false;
    const std::string_view kpi = trim(field(f_.cols.kpi_name));
    if (kpi.empty()) {
      reject("missing_field", "empty kpi_name");
      return false;
    }
    double v = 0;
    bool rejected = false;
    const bool finite = metric_value(field(f_.cols.value), "value", v, rejected);
    if (rejected) return false;
    ++sink_.counts->metric_rows;
    if (!finite) return false;
    const Resolved& r = resolve_metric(cmdb);
    p.entity = r.entity;
    p.kpi = r.kpi_suffix.empty() ? sink_.catalog->kpis.intern(kpi)
                                 : sink_.catalog->kpis.intern(cat(kpi, r.kpi_suffix));
    p.value = v;
    ++sink_.counts->metric_points;
    out = p;
    return true;
  }

  // "adservice-grpc,1647716400,100.0,100.0,2.43,61": service adservice,
  // KPIs "rr.grpc", "sr.grpc", "mrt.grpc", "count.grpc".
  bool service_row(Record& out) {
    TimeUs t = 0;
    if (!parse_time(field(f_.cols.timestamp), t)) return false;
    std::string_view svc = trim(field(f_.cols.service));
    if (svc.empty()) {
      reject("missing_field", "empty service");
      return false;
    }
    std::string proto;
    const size_t dash = svc.rfind('-');
    if (dash != std::string_view::npos) {
      const std::string p = to_lower(svc.substr(dash + 1));
      if (p == "grpc" || p == "http" || p == "https") {
        proto = p;
        svc = svc.substr(0, dash);
      }
    }
    std::vector<std::pair<Id, double>> values;
    for (const auto& [col, name] : f_.cols.service_kpis) {
      double v = 0;
      bool rejected = false;
      if (!metric_value(field(col), name.c_str(), v, rejected)) {
        if (rejected) return false;
        continue;
      }
      values.emplace_back(sink_.catalog->kpis.intern(proto.empty() ? name : cat(name, ".", proto)), v);
    }
    ++sink_.counts->metric_rows;
    if (values.empty()) return false;
    const Id e = sink_.catalog->entity(svc, EntityKind::kService);
    for (const auto& [kpi, v] : values) pending_.push_back(MetricPoint{t, e, kpi, v});
    sink_.counts->metric_points += static_cast<std::int64_t>(values.size());
    out = pending_.front();
    pending_.pop_front();
    return true;
  }

  bool trace_row(Record& out) {
    Span s;
    std::string_view cmdb;
    if (!row_time_and_cmdb(s.start, cmdb)) return false;
    const std::string_view span_id = trim(field(f_.cols.span_id)), trace_id = trim(field(f_.cols.trace_id));
    if (span_id.empty() || trace_id.empty()) {
      reject("missing_field", span_id.empty() ? "empty span_id" : "empty trace_id");
      return false;
    }
    const auto d = parse_double(field(f_.cols.duration));
    // Up to 1e18 us: llround of a larger value is unspecified (a negative duration).
    if (!d || !std::isfinite(*d) || *d < 0 || *d > 1e18) {
      reject("bad_duration", cat("duration '", trim(field(f_.cols.duration)), "' is not a non-negative number"));
      return false;
    }
    s.duration_us = static_cast<std::int64_t>(std::llround(*d));  // microseconds, as in the challenge data
    if (f_.cols.status_code >= 0) parse_status(field(f_.cols.status_code), s.status_code, s.error);
    s.entity = resolve_plain(cmdb);
    s.operation = sink_.catalog->operations.intern(trim(field(f_.cols.operation_name)));
    s.trace_id.assign(trace_id);
    s.span_id.assign(span_id);
    const std::string_view parent = trim(field(f_.cols.parent_span));
    // A span naming itself as its parent is a root (MicroServo's root spans do).
    if (!is_root_parent(parent) && parent != span_id) s.parent_id.assign(parent);
    ++sink_.counts->spans;
    out = std::move(s);
    return true;
  }

  bool log_row(Record& out) {
    LogRecord r;
    std::string_view cmdb;
    if (!row_time_and_cmdb(r.time, cmdb)) return false;
    r.entity = resolve_plain(cmdb);
    split_log_value(field(f_.cols.value), r.level, r.message);
    if (f_.cols.log_trace_id >= 0) r.trace_id.assign(trim(field(f_.cols.log_trace_id)));
    if (f_.cols.log_span_id >= 0) r.span_id.assign(trim(field(f_.cols.log_span_id)));
    ++sink_.counts->log_records;
    out = std::move(r);
    return true;
  }

  FileInfo f_;
  std::optional<EpochUnit> unit_;
  std::unordered_map<std::string, Resolved> metric_entities_;
  std::unordered_map<std::string, Id> plain_entities_;
};

constexpr std::int64_t kPeekRows = 1000;  // rows a peek reads to find a file's first valid record

// One pass over a file's timestamp column only (cheaper than parsing its
// rows): when does it start, how far does it go back? The AIOps 2022
// container metrics are grouped by series, so time restarts with every
// series; such a file is sorted before streaming.
ingest_detail::TimeScan scan_time_order(const FileInfo& f) {
  ingest_detail::TimeScan o;
  try {
    CsvReader csv(f.path);
    std::vector<std::string_view> fields;
    if (!csv.next(fields)) return o;  // header
    std::optional<EpochUnit> unit;
    TimeUs newest = INT64_MIN;
    while (csv.next(fields)) {
      if (fields.size() != f.cols.count || f.cols.timestamp < 0) continue;
      const std::string_view text = trim(fields[f.cols.timestamp]);
      TimeUs t;
      if (const auto v = parse_double(text); v && std::isfinite(*v)) {
        if (!unit) unit = guess_epoch_unit(*v);
        t = epoch_to_us(*v, *unit);
      } else if (const auto d = parse_datetime(text)) {
        t = *d;
      } else {
        continue;  // the reader rejects and reports it
      }
      if (!o.any || t < o.min_time) o.min_time = t;
      o.any = true;
      if (newest != INT64_MIN && t < newest) o.max_back = std::max(o.max_back, newest - t);
      newest = std::max(newest, t);
    }
  } catch (const IoError&) {
    return {};  // the reader reports the file when it opens it
  }
  return o;
}

class Aiops22Source : public TelemetrySource {
 public:
  Aiops22Source(std::string root, const ReadOptions& options) : root_(std::move(root)), options_(options) {
    stats_.strict = options.strict;
  }

  void discover() {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(root_, ec)) throw InvalidInput(cat(root_, ": no such file or folder"));
    const bool root_is_dir = fs::is_directory(root_, ec);
    const auto paths = ingest_detail::list_files(root_, {".csv", ".csv.gz"});
    const fs::path root_path = fs::path(root_).lexically_normal();
    size_t unrecognised = 0;
    for (const auto& p : paths) {
      std::vector<std::string> header;
      try {
        if (!read_header(p, header)) {
          stats_.notes.push_back(cat(p, ": empty file, skipped"));
          ++unrecognised;
          continue;
        }
      } catch (const IoError& e) {
        stats_.reject(p, 0, "unreadable_file", e.what());
        continue;
      }
      auto info = classify_header(p, header);
      if (!info) {
        ++unrecognised;
        if (stats_.notes.size() < ParseStats::max_examples)
          stats_.notes.push_back(cat(p, ": header is not an aiops22 schema, skipped"));
        continue;
      }
      if (root_is_dir && fs::path(p).parent_path().lexically_normal() != root_path) {
        const std::string dir = ingest_detail::parent_dir_name(p);
        if (dir == "node") info->hint = Hint::kNode;
        else if (dir == "container") info->hint = Hint::kPod;
        else if (dir == "service") info->hint = Hint::kService;
      }
      files_.push_back(std::move(*info));
    }
    if (files_.empty()) {
      throw InvalidInput(cat(root_, ": no aiops22 data: looked for CSV files (plain or .gz) with the header of ",
                             kSchemas, "; found ", paths.size(), " CSV file(s), ", unrecognised,
                             " with another header"));
    }
    auto count = [&](std::initializer_list<FileKind> kinds) {
      size_t n = 0;
      for (const auto& f : files_)
        for (FileKind k : kinds) n += f.kind == k;
      return n;
    };
    if (options_.read_metrics && count({FileKind::kMetric, FileKind::kServiceMetric}) == 0)
      stats_.note_missing(cat(root_, ": no metric files (timestamp,cmdb_id,kpi_name,value)"));
    if (options_.read_traces && count({FileKind::kTrace}) == 0)
      stats_.note_missing(cat(root_, ": no trace files (timestamp,cmdb_id,span_id,trace_id,...)"));
    if (options_.read_logs && count({FileKind::kLog}) == 0)
      stats_.note_missing(cat(root_, ": no log files (log_id,timestamp,cmdb_id,log_name,value)"));
    if (count({FileKind::kGroundTruth}) == 0)
      stats_.note_missing(cat(root_, ": no ground truth files (timestamp,level,cmdb_id,failure_type)"));
  }

  std::string format() const override { return "aiops22"; }

  std::vector<FaultEvent> faults() override {
    if (faults_read_) return faults_;
    faults_read_ = true;
    const double duration_s =
        options_.fault_duration_s >= 0 ? options_.fault_duration_s : kAiops22DefaultFaultDurationS;
    for (const auto& f : files_) {
      if (f.kind != FileKind::kGroundTruth) continue;
      Aiops22FileStream s(f, Sink{&catalog_, &stats_, &counts_, true});
      s.read_faults(faults_, duration_s);
    }
    std::stable_sort(faults_.begin(), faults_.end(),
                     [](const FaultEvent& a, const FaultEvent& b) { return a.start < b.start; });
    return faults_;
  }

  std::unique_ptr<RecordStream> open() override {
    std::vector<LazyPart> parts;
    for (const auto& f : files_) {
      const bool wanted = (f.kind == FileKind::kMetric || f.kind == FileKind::kServiceMetric) ? options_.read_metrics
                          : f.kind == FileKind::kTrace                                        ? options_.read_traces
                          : f.kind == FileKind::kLog                                          ? options_.read_logs
                                                                                              : false;
      if (!wanted) continue;
      LazyPart part;
      {
        ParseStats peek_stats;
        ReadCounts peek_counts;
        Aiops22FileStream peek(f, Sink{&catalog_, &peek_stats, &peek_counts, false}, kPeekRows);
        Record r;
        if (peek.next(r)) part.first_time = record_time(r);
      }
      const ingest_detail::TimeScan order = scan_time_order(f);
      const bool sorted = sort_when_disordered(f.path, order.max_back, "rows", stats_);
      if (sorted) part.first_time = order.min_time;
      part.open = [this, f, sorted]() {
        return sorted_if(sorted, std::make_unique<Aiops22FileStream>(f, Sink{&catalog_, &stats_, &counts_, true}));
      };
      parts.push_back(std::move(part));
    }
    return std::make_unique<LazyMergeStream>(std::move(parts));
  }

 private:
  std::string root_;
  ReadOptions options_;
  std::vector<FileInfo> files_;
  std::vector<FaultEvent> faults_;
  bool faults_read_ = false;
};

}  // namespace

int probe_aiops22(const std::string& path) {
  constexpr size_t kMaxHeaders = 50;   // bound the cost on large non-aiops22 folders
  const auto paths = ingest_detail::list_files(path, {".csv", ".csv.gz"});
  size_t checked = 0;
  for (const auto& p : paths) {
    if (++checked > kMaxHeaders) break;
    std::vector<std::string> header;
    try {
      if (!read_header(p, header)) continue;
    } catch (const Error&) {
      continue;
    }
    if (classify_header(p, header)) return 2;
  }
  return 0;
}

std::unique_ptr<TelemetrySource> open_aiops22(const std::string& path, const ReadOptions& options) {
  auto src = std::make_unique<Aiops22Source>(path, options);
  src->discover();
  return src;
}

}  // namespace rslicer
