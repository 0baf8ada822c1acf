// write_dataset(): the three on-disk formats the readers accept, with their
// label files, so that open_source(dir, format) reads the same records back
// (within what each format keeps; docs/formats.md lists the losses).
#include "ingest/writer.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/errors.h"
#include "core/strings.h"
#include "core/time.h"
#include "ingest/aiops22_shared.h"
#include "ingest/writer_formats.h"

namespace rslicer {

namespace {

namespace fs = std::filesystem;
using ingest_detail::format_double;
using ordered_json = nlohmann::ordered_json;

// Buffered output to a plain or gzip file; parent folders are created.
class OutFile {
 public:
  OutFile(std::string path, bool gzip) : path_(std::move(path)) {
    std::error_code ec;
    fs::create_directories(fs::path(path_).parent_path(), ec);
    if (ec) throw IoError(cat(path_, ": cannot create folder: ", ec.message()));
    if (gzip) {
      gz_ = gzopen(path_.c_str(), "wb3");
      if (!gz_) throw IoError(cat(path_, ": cannot write: ", std::strerror(errno)));
    } else {
      file_ = std::fopen(path_.c_str(), "wb");
      if (!file_) throw IoError(cat(path_, ": cannot write: ", std::strerror(errno)));
    }
    buf_.reserve(kBuffer + 4096);
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile() {
    try {
      close();
    } catch (const IoError&) {
    }
  }

  void write(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= kBuffer) flush();
  }
  std::string& buffer() { return buf_; }  // append directly, then call maybe_flush()
  void maybe_flush() {
    if (buf_.size() >= kBuffer) flush();
  }

  void close() {
    if (!gz_ && !file_) return;
    flush();
    if (gz_) {
      const int rc = gzclose(static_cast<gzFile>(gz_));
      gz_ = nullptr;
      if (rc != Z_OK) throw IoError(cat(path_, ": write failed on close"));
    } else {
      const int rc = std::fclose(file_);
      file_ = nullptr;
      if (rc != 0) throw IoError(cat(path_, ": write failed on close: ", std::strerror(errno)));
    }
  }

 private:
  static constexpr size_t kBuffer = 1 << 20;

  void flush() {
    if (buf_.empty()) return;
    if (gz_) {
      if (gzwrite(static_cast<gzFile>(gz_), buf_.data(), static_cast<unsigned>(buf_.size())) !=
          static_cast<int>(buf_.size()))
        throw IoError(cat(path_, ": write failed"));
    } else if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      throw IoError(cat(path_, ": write failed: ", std::strerror(errno)));
    }
    buf_.clear();
  }

  std::string path_;
  void* gz_ = nullptr;
  std::FILE* file_ = nullptr;
  std::string buf_;
};

void write_whole_file(const std::string& path, const std::string& text) {
  OutFile f(path, false);
  f.write(text);
  f.close();
}

// Checked name lookups: ids must be in the catalog.
struct Names {
  const Catalog& c;
  const std::string& entity(Id id) const {
    RSLICER_CHECK(id < c.entities.size(), InvalidInput, "write_dataset: entity id ", id, " is not in the catalog");
    return c.entities.name(id);
  }
  EntityKind kind(Id id) const { return id < c.entity_info.size() ? c.entity_info[id].kind : EntityKind::kPod; }
  Id node(Id id) const { return id < c.entity_info.size() ? c.entity_info[id].node : kNoId; }
  const std::string& kpi(Id id) const {
    RSLICER_CHECK(id < c.kpis.size(), InvalidInput, "write_dataset: KPI id ", id, " is not in the catalog");
    return c.kpis.name(id);
  }
  std::string operation(Id id) const {
    if (id == kNoId) return "";
    RSLICER_CHECK(id < c.operations.size(), InvalidInput, "write_dataset: operation id ", id,
                  " is not in the catalog");
    return c.operations.name(id);
  }
  // Service a pod belongs to: the catalog link, else derived from the name.
  std::string service_of(Id id) const {
    const Id s = c.service_of(id);
    if (s != id) return entity(s);
    return service_of_pod(entity(id));
  }
};

// Calendar parts of a time (UTC), from format_time's "YYYY-MM-DDTHH:MM:SS[.ffffff]Z".
struct Civil {
  std::string date;       // YYYY-MM-DD
  std::string clock;      // HH:MM:SS
  int minute_of_day = 0;  // 0..1439
  TimeUs micros = 0;      // 0..999999
};

Civil civil(TimeUs t) {
  const std::string s = format_time(t);
  Civil c;
  c.date = s.substr(0, 10);
  c.clock = s.substr(11, 8);
  c.minute_of_day = std::stoi(s.substr(11, 2)) * 60 + std::stoi(s.substr(14, 2));
  TimeUs frac = t % kUsPerSecond;
  if (frac < 0) frac += kUsPerSecond;
  c.micros = frac;
  return c;
}

// RFC 3339 with the fraction's trailing zeros removed, as Go's RFC3339Nano.
std::string rfc3339_nano(TimeUs t) {
  std::string s = format_time(t);
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  size_t end = s.size() - 1;  // the 'Z'
  while (end > dot + 1 && s[end - 1] == '0') --end;
  return s.substr(0, end) + "Z";
}

std::int64_t floor_seconds(TimeUs t) { return (t >= 0 ? t : t - (kUsPerSecond - 1)) / kUsPerSecond; }

std::string two_digits(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

// "HH_MM" of a per-minute nezha file. The real files are named after the
// minute their collection ended (10_06 holds 10:05:09 .. 10:06:06), so a
// record goes to the file of the next minute, kept inside its day.
std::string minute_file_key(int minute_of_day) {
  const int m = std::min(minute_of_day + 1, 1439);
  return two_digits(m / 60) + "_" + two_digits(m % 60);
}

std::string safe_file_name(std::string name) {
  for (char& ch : name)
    if (ch == '/' || ch == '\\' || ch == '\0') ch = '_';
  return name;
}

template <typename T, typename TimeOf>
std::vector<size_t> order_by_time(const std::vector<T>& v, TimeOf time_of) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return time_of(v[a]) < time_of(v[b]); });
  return idx;
}

// ---------------------------------------------------------------- nezha

const std::vector<std::string> kNezhaPodKpis = {
    "CpuUsage(m)",         "CpuUsageRate(%)",        "MemoryUsage(Mi)",        "MemoryUsageRate(%)",
    "SyscallRead",         "SyscallWrite",           "NetworkReceiveBytes",    "NetworkTransmitBytes",
    "PodClientLatencyP90(s)", "PodServerLatencyP90(s)", "PodClientLatencyP95(s)", "PodServerLatencyP95(s)",
    "PodClientLatencyP99(s)", "PodServerLatencyP99(s)", "PodWorkload(Ops)",       "PodSuccessRate(%)",
    "NodeCpuUsageRate(%)", "NodeMemoryUsageRate(%)", "NodeNetworkReceiveBytes"};

void validate_nezha(const DatasetRecords& d, const Names& n) {
  std::map<std::string, std::int64_t> node_points;
  for (const auto& p : d.metrics) {
    n.kpi(p.kpi);
    if (n.kind(p.entity) == EntityKind::kNode) ++node_points[n.entity(p.entity)];
  }
  if (!node_points.empty()) {
    std::string list;
    for (const auto& [name, count] : node_points) list += cat(list.empty() ? "" : ", ", name, " (", count, " points)");
    throw InvalidInput(cat("cannot write node metrics in the nezha format (its metric files are per pod or service): ",
                           list, "; fold node KPIs into the pods' NodeCpuUsageRate(%), NodeMemoryUsageRate(%), "
                           "NodeNetworkReceiveBytes columns, or write aiops22/otlp"));
  }
  for (const auto& f : d.faults) {
    const std::string level = to_lower(f.level);
    RSLICER_CHECK(level.empty() || level == "pod", InvalidInput, "cannot write a ", f.level,
                  "-level fault on '", f.root_cause,
                  "' in the nezha format: fault_list.json names only pods (inject_pod); write aiops22/otlp");
  }
}

void write_nezha(const std::string& dir, const DatasetRecords& d, const WriteOptions& opt) {
  const Names n{*d.catalog};
  validate_nezha(d, n);
  const std::string ext = opt.gzip ? ".csv.gz" : ".csv";
  const fs::path root = fs::path(dir) / "rca_data";
  std::set<std::string> days;

  // Metrics: one row per (entity, second) with one column per KPI.
  {
    std::set<std::string> metric_files;
    std::vector<size_t> idx(d.metrics.size());
    std::iota(idx.begin(), idx.end(), size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      const auto& x = d.metrics[a];
      const auto& y = d.metrics[b];
      return std::tie(x.entity, x.time) < std::tie(y.entity, y.time);
    });
    size_t i = 0;
    while (i < idx.size()) {
      const Id e = d.metrics[idx[i]].entity;
      size_t j = i;
      while (j < idx.size() && d.metrics[idx[j]].entity == e) ++j;
      const bool is_service = n.kind(e) == EntityKind::kService;
      // Columns: the 19 nezha pod KPIs (pods), then any other KPI of the entity by name.
      std::vector<std::string> columns = is_service ? std::vector<std::string>{} : kNezhaPodKpis;
      std::set<std::string> extra;
      for (size_t k = i; k < j; ++k) {
        const std::string& kpi = n.kpi(d.metrics[idx[k]].kpi);
        if (std::find(columns.begin(), columns.end(), kpi) == columns.end()) extra.insert(kpi);
      }
      columns.insert(columns.end(), extra.begin(), extra.end());
      std::unordered_map<std::string, size_t> col_of;
      for (size_t c = 0; c < columns.size(); ++c) col_of.emplace(columns[c], c);
      const std::string& name = n.entity(e);
      std::unique_ptr<OutFile> out;
      std::string out_day;
      std::vector<double> row(columns.size());
      std::vector<char> set(columns.size());
      size_t k = i;
      while (k < j) {
        const TimeUs t = d.metrics[idx[k]].time;
        const std::int64_t second = floor_seconds(t);
        std::fill(row.begin(), row.end(), std::nan(""));
        std::fill(set.begin(), set.end(), 0);
        size_t m = k;
        while (m < j && floor_seconds(d.metrics[idx[m]].time) == second) {
          const MetricPoint& p = d.metrics[idx[m]];
          const size_t c = col_of.at(n.kpi(p.kpi));
          RSLICER_CHECK(!set[c], InvalidInput, "cannot write nezha metrics: two values of ", name, " ", columns[c],
                        " in the second ", format_time(second * kUsPerSecond),
                        " (nezha metric rows keep whole seconds)");
          set[c] = 1;
          row[c] = p.value;
          ++m;
        }
        const Civil cv = civil(second * kUsPerSecond);
        if (!out || out_day != cv.date) {
          if (out) out->close();
          out_day = cv.date;
          days.insert(cv.date);
          const fs::path path = root / cv.date / "metric" / (safe_file_name(name) + "_metric" + ext);
          RSLICER_CHECK(metric_files.insert(path.string()).second, InvalidInput, "cannot write nezha metrics: ",
                        path.string(), " would hold two entities (names equal after replacing '/')");
          out = std::make_unique<OutFile>(path.string(), opt.gzip);
          std::string header = is_service ? "Time,TimeStamp,ServiceName" : "Time,TimeStamp,PodName";
          for (const auto& c : columns) {
            header.push_back(',');
            append_csv_field(header, c);
          }
          header.push_back('\n');
          out->write(header);
        }
        std::string& b = out->buffer();
        b += cv.date;
        b.push_back(' ');
        b += cv.clock;
        b += " +0000 UTC,";
        b += std::to_string(second);
        b.push_back(',');
        append_csv_field(b, name);
        for (double v : row) {
          b.push_back(',');
          b += format_double(v);
        }
        b.push_back('\n');
        out->maybe_flush();
        k = m;
      }
      if (out) out->close();
      i = j;
    }
  }

  // Traces: trace/HH_MM_trace.csv and traceid/HH_MM_traceid.csv per minute.
  {
    bool with_status = false;
    for (const auto& s : d.spans) with_status |= s.status_code != 0;
    std::map<std::pair<std::string, std::string>, std::vector<size_t>> files;
    for (size_t i : order_by_time(d.spans, [](const Span& s) { return s.start; })) {
      const Civil cv = civil(d.spans[i].start);
      files[{cv.date, minute_file_key(cv.minute_of_day)}].push_back(i);
    }
    for (const auto& [key, list] : files) {
      days.insert(key.first);
      OutFile out((root / key.first / "trace" / (key.second + "_trace" + ext)).string(), opt.gzip);
      out.write(with_status ? "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration,"
                              "StatusCode\n"
                            : "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n");
      std::vector<std::string> trace_ids;
      std::set<std::string> seen;
      for (size_t i : list) {
        const Span& s = d.spans[i];
        std::string& b = out.buffer();
        append_csv_field(b, s.trace_id);
        b.push_back(',');
        append_csv_field(b, s.span_id);
        b.push_back(',');
        append_csv_field(b, s.parent_id.empty() ? "root" : s.parent_id);
        b.push_back(',');
        append_csv_field(b, n.entity(s.entity));
        b.push_back(',');
        append_csv_field(b, n.operation(s.operation));
        b += cat(",", s.start * 1000, ",", (s.start + s.duration_us) * 1000, ",", s.duration_us);
        if (with_status) b += cat(",", s.status_code);
        b.push_back('\n');
        out.maybe_flush();
        if (seen.insert(s.trace_id).second) trace_ids.push_back(s.trace_id);
      }
      out.close();
      OutFile ids((root / key.first / "traceid" / (key.second + "_traceid" + ext)).string(), opt.gzip);
      for (const auto& t : trace_ids) {
        ids.write(t);
        ids.write("\n");
      }
      ids.close();
    }
  }

  // Logs: log/HH_MM_log.csv with the Docker JSON line whose inner clock is UTC+8.
  {
    std::map<std::pair<std::string, std::string>, std::vector<size_t>> files;
    for (size_t i : order_by_time(d.logs, [](const LogRecord& r) { return r.time; })) {
      const Civil cv = civil(d.logs[i].time);
      files[{cv.date, minute_file_key(cv.minute_of_day)}].push_back(i);
    }
    for (const auto& [key, list] : files) {
      days.insert(key.first);
      OutFile out((root / key.first / "log" / (key.second + "_log" + ext)).string(), opt.gzip);
      out.write("Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n");
      for (size_t i : list) {
        const LogRecord& r = d.logs[i];
        const std::string stamp = rfc3339_nano(r.time);
        std::string inner;
        if (r.level != LogLevel::kUnknown) {
          const Civil local = civil(r.time + 8 * 3600 * kUsPerSecond);  // the application logs in UTC+8
          char ms[16];
          std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>(local.micros / 1000));
          std::string level = log_level_name(r.level);
          if (level.size() < 5) level.resize(5, ' ');
          inner = cat(local.clock, ms, " ", level, " ", r.message, "\n");
        } else {
          inner = r.message + "\n";  // no level: no prefix, so the reader takes the text as it is
        }
        const std::string docker =
            cat("{\"log\":", nlohmann::json(inner).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                ",\"stream\":\"stdout\",\"time\":\"", stamp, "\"}");
        const Id node = n.node(r.entity);
        std::string& b = out.buffer();
        append_csv_field(b, stamp);
        b += cat(",", r.time * 1000, ",");
        append_csv_field(b, node == kNoId ? std::string() : n.entity(node));
        b.push_back(',');
        append_csv_field(b, n.entity(r.entity));
        b += ",server,";
        append_csv_field(b, r.trace_id);
        b.push_back(',');
        append_csv_field(b, r.span_id);
        b.push_back(',');
        append_csv_field(b, docker);
        b.push_back('\n');
        out.maybe_flush();
      }
      out.close();
    }
  }

  // Labels: <day>-fault_list.json per day, {hour: [faults]}, inject_time in UTC.
  std::map<std::string, std::vector<const FaultEvent*>> by_day;
  for (size_t i : order_by_time(d.faults, [](const FaultEvent& f) { return f.start; })) {
    by_day[civil(d.faults[i].start).date].push_back(&d.faults[i]);
  }
  for (const auto& [day, list] : by_day) days.insert(day);
  for (const auto& day : days) {
    ordered_json j = ordered_json::object();
    for (const FaultEvent* f : by_day[day]) {
      const Civil cv = civil(f->start);
      const std::string hour = cv.clock.substr(0, 2);
      if (!j.contains(hour)) j[hour] = ordered_json::array();
      const TimeUs secs = floor_seconds(f->start);
      ordered_json e;
      e["inject_time"] = cv.date + " " + cv.clock;
      e["inject_timestamp"] = std::to_string(secs);
      e["inject_pod"] = f->root_cause;
      e["inject_type"] = f->fault_type;
      // not in the published format, which leaves the duration to the reader (180 s): the fault's own length, so
      // that a simulated fault of 300 s is not read as 180 s and its last minutes as normal time
      if (f->end > f->start) e["duration_s"] = static_cast<double>(f->end - f->start) / kUsPerSecond;
      j[hour].push_back(std::move(e));
    }
    write_whole_file((root / day / (day + "-fault_list.json")).string(), j.dump(4));  // no final newline, as the real files
  }
}

// ---------------------------------------------------------------- aiops22

// The coarsest integer epoch unit that keeps every time exactly and that the
// reader's magnitude test recognises (times must be after 1973).
EpochUnit choose_unit(const std::vector<TimeUs>& times, const char* what) {
  for (EpochUnit u : {EpochUnit::kSeconds, EpochUnit::kMillis, EpochUnit::kMicros}) {
    const TimeUs div = u == EpochUnit::kSeconds ? kUsPerSecond : u == EpochUnit::kMillis ? 1000 : 1;
    bool ok = true;
    for (TimeUs t : times) {
      if (t % div != 0 || guess_epoch_unit(static_cast<double>(t / div)) != u) {
        ok = false;
        break;
      }
    }
    if (ok) return u;
  }
  throw InvalidInput(cat("cannot write ", what, " in aiops22: its timestamps carry no unit, which readers guess by "
                         "magnitude, so times must lie between 1973 and 2286"));
}

std::int64_t in_unit(TimeUs t, EpochUnit u) {
  return u == EpochUnit::kSeconds ? t / kUsPerSecond : u == EpochUnit::kMillis ? t / 1000 : t;
}

void write_aiops22(const std::string& dir, const DatasetRecords& d, const WriteOptions& opt) {
  const Names n{*d.catalog};
  const std::string ext = opt.gzip ? ".csv.gz" : ".csv";
  const fs::path root(dir);

  // Metrics: container (pods, "<node>.<pod>" when the node is known), node and service files.
  {
    enum Group { kPods, kNodes, kServices };
    std::vector<size_t> groups[3];
    for (size_t i : order_by_time(d.metrics, [](const MetricPoint& p) { return p.time; })) {
      const EntityKind k = n.kind(d.metrics[i].entity);
      groups[k == EntityKind::kNode ? kNodes : k == EntityKind::kService ? kServices : kPods].push_back(i);
    }
    const char* paths[3] = {"metric/container/kpi_container", "metric/node/kpi_node", "metric/service/kpi_service"};
    std::unordered_map<Id, std::string> cmdb;
    for (int g = 0; g < 3; ++g) {
      if (groups[g].empty()) continue;
      std::vector<TimeUs> times;
      times.reserve(groups[g].size());
      for (size_t i : groups[g]) times.push_back(d.metrics[i].time);
      const EpochUnit unit = choose_unit(times, "metrics");
      OutFile out((root / (std::string(paths[g]) + ext)).string(), opt.gzip);
      out.write("timestamp,cmdb_id,kpi_name,value\n");
      for (size_t i : groups[g]) {
        const MetricPoint& p = d.metrics[i];
        auto it = cmdb.find(p.entity);
        if (it == cmdb.end()) {
          std::string id = n.entity(p.entity);
          if (g == kPods) {
            const Id node = n.node(p.entity);
            const bool node_ok = node != kNoId && n.entity(node).find('.') == std::string::npos;
            RSLICER_CHECK(id.find('.') == std::string::npos || node_ok, InvalidInput, "cannot write pod '", id,
                          "' in aiops22: container metric ids are <node>.<pod>, so a pod name with '.' needs a node");
            if (node_ok) id = n.entity(node) + "." + id;
          }
          it = cmdb.emplace(p.entity, std::move(id)).first;
        }
        std::string& b = out.buffer();
        b += std::to_string(in_unit(p.time, unit));
        b.push_back(',');
        append_csv_field(b, it->second);
        b.push_back(',');
        append_csv_field(b, n.kpi(p.kpi));
        b.push_back(',');
        b += format_double(p.value);
        b.push_back('\n');
        out.maybe_flush();
      }
      out.close();
    }
  }

  // Traces: timestamp in the coarsest exact unit, duration in microseconds.
  if (!d.spans.empty()) {
    const auto order = order_by_time(d.spans, [](const Span& s) { return s.start; });
    std::vector<TimeUs> times;
    for (const auto& s : d.spans) times.push_back(s.start);
    const EpochUnit unit = choose_unit(times, "spans");
    OutFile out((root / ("trace/all/trace_jaeger-span" + ext)).string(), opt.gzip);
    out.write("timestamp,cmdb_id,span_id,trace_id,duration,type,status_code,operation_name,parent_span\n");
    for (size_t i : order) {
      const Span& s = d.spans[i];
      // The status column holds the code, plus a word when the code alone would
      // imply a different error flag ("200 error", "503 ok", "error").
      std::string status;
      if (ingest_detail::status_implies_error(s.status_code) == s.error) status = std::to_string(s.status_code);
      else if (s.status_code == 0) status = s.error ? "error" : "ok";
      else status = cat(s.status_code, s.error ? " error" : " ok");
      std::string& b = out.buffer();
      b += std::to_string(in_unit(s.start, unit));
      b.push_back(',');
      append_csv_field(b, n.entity(s.entity));
      b.push_back(',');
      append_csv_field(b, s.span_id);
      b.push_back(',');
      append_csv_field(b, s.trace_id);
      b += cat(",", s.duration_us, ",", s.status_code >= 100 ? "http" : "rpc", ",");
      append_csv_field(b, status);
      b.push_back(',');
      append_csv_field(b, n.operation(s.operation));
      b.push_back(',');
      append_csv_field(b, s.parent_id);
      b.push_back('\n');
      out.maybe_flush();
    }
    out.close();
  }

  // Logs: "severity: <level>, message: <text>" as the Online Boutique services
  // log, plus trace_id/span_id columns (an extension the reader accepts).
  if (!d.logs.empty()) {
    const auto order = order_by_time(d.logs, [](const LogRecord& r) { return r.time; });
    std::vector<TimeUs> times;
    for (const auto& r : d.logs) times.push_back(r.time);
    const EpochUnit unit = choose_unit(times, "logs");
    OutFile out((root / ("log/all/log_filebeat-testbed-log-service" + ext)).string(), opt.gzip);
    out.write("log_id,timestamp,cmdb_id,log_name,value,trace_id,span_id\n");
    std::int64_t seq = 0;
    for (size_t i : order) {
      const LogRecord& r = d.logs[i];
      char id[32];
      std::snprintf(id, sizeof id, "L%015llx", static_cast<unsigned long long>(seq++));
      std::string& b = out.buffer();
      b += id;
      b += cat(",", in_unit(r.time, unit), ",");
      append_csv_field(b, n.entity(r.entity));
      b.push_back(',');
      append_csv_field(b, cat("log_", n.service_of(r.entity), "-service_application"));
      b.push_back(',');
      append_csv_field(b, cat("severity: ", to_lower(log_level_name(r.level)), ", message: ", r.message));
      b.push_back(',');
      append_csv_field(b, r.trace_id);
      b.push_back(',');
      append_csv_field(b, r.span_id);
      b.push_back('\n');
      out.maybe_flush();
    }
    out.close();
  }

  // Ground truth, with a duration column (seconds) as an extension.
  if (!d.faults.empty()) {
    const auto order = order_by_time(d.faults, [](const FaultEvent& f) { return f.start; });
    std::vector<TimeUs> times;
    for (const auto& f : d.faults) times.push_back(f.start);
    const EpochUnit unit = choose_unit(times, "faults");
    OutFile out((root / ("groundtruth/groundtruth" + ext)).string(), opt.gzip);
    out.write("timestamp,level,cmdb_id,failure_type,duration\n");
    for (size_t i : order) {
      const FaultEvent& f = d.faults[i];
      std::string& b = out.buffer();
      b += std::to_string(in_unit(f.start, unit));
      b.push_back(',');
      append_csv_field(b, f.level);
      b.push_back(',');
      append_csv_field(b, f.root_cause);
      b.push_back(',');
      append_csv_field(b, f.fault_type);
      b.push_back(',');
      if (f.end > f.start) b += format_double(static_cast<double>(f.end - f.start) / 1e6);
      b.push_back('\n');
    }
    out.close();
  }
}

// ---------------------------------------------------------------- otlp
// JSON text is built directly (nlohmann's DOM is several times slower for
// millions of records); strings with non-ASCII bytes go through nlohmann so
// invalid UTF-8 is replaced rather than written.

void json_string(std::string& out, std::string_view s) {
  for (unsigned char ch : s) {
    if (ch >= 0x80) {
      out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Finite doubles as JSON numbers; NaN/inf as the OTLP/JSON strings.
void json_double(std::string& out, double v) {
  if (std::isnan(v)) out += "\"NaN\"";
  else if (std::isinf(v)) out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  else out += format_double(v);
}

void string_attr(std::string& out, const char* key, const std::string& value) {
  out += "{\"key\":\"";
  out += key;
  out += "\",\"value\":{\"stringValue\":";
  json_string(out, value);
  out += "}}";
}

// Resource of an entity: pods carry service.name, k8s.pod.name and (when
// known) k8s.node.name; services service.name; nodes host.name.
std::string resource_of(const Names& n, Id e) {
  std::string out = "{\"attributes\":[";
  const std::string& name = n.entity(e);
  switch (n.kind(e)) {
    case EntityKind::kService: string_attr(out, "service.name", name); break;
    case EntityKind::kNode: string_attr(out, "host.name", name); break;
    case EntityKind::kPod:
    case EntityKind::kInstance: {
      string_attr(out, "service.name", n.service_of(e));
      out.push_back(',');
      string_attr(out, "k8s.pod.name", name);
      const Id node = n.node(e);
      if (node != kNoId) {
        out.push_back(',');
        string_attr(out, "k8s.node.name", n.entity(node));
      }
      break;
    }
  }
  out += "]}";
  return out;
}

// Batches of records in time order, as the Collector's batch processor sends
// them: at most kBatchRecords records spanning at most kBatchSpan, one
// export request (one line) per batch, grouped by resource.
constexpr size_t kBatchRecords = 1000;
constexpr TimeUs kBatchSpan = 10 * kUsPerSecond;

template <typename T, typename TimeOf, typename EntityOf, typename Emit>
void write_batches(OutFile& out, const Names& n, const char* signal, const char* scopes, const char* items,
                   const std::vector<T>& v, TimeOf time_of, EntityOf entity_of, Emit emit_record) {
  const auto order = order_by_time(v, time_of);
  std::unordered_map<Id, std::string> resources;
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    const TimeUs t0 = time_of(v[order[i]]);
    while (j < order.size() && j - i < kBatchRecords && time_of(v[order[j]]) - t0 < kBatchSpan) ++j;
    // Group the batch by entity, in first-appearance order.
    std::vector<Id> entities;
    std::unordered_map<Id, std::vector<size_t>> by_entity;
    for (size_t k = i; k < j; ++k) {
      const Id e = entity_of(v[order[k]]);
      auto [it, fresh] = by_entity.try_emplace(e);
      if (fresh) entities.push_back(e);
      it->second.push_back(order[k]);
    }
    std::string& b = out.buffer();
    b += cat("{\"", signal, "\":[");
    for (size_t ei = 0; ei < entities.size(); ++ei) {
      const Id e = entities[ei];
      auto res = resources.find(e);
      if (res == resources.end()) res = resources.emplace(e, resource_of(n, e)).first;
      if (ei) b.push_back(',');
      b += "{\"resource\":";
      b += res->second;
      b += cat(",\"", scopes, "\":[{\"scope\":{\"name\":\"rslicer\"},\"", items, "\":[");
      emit_record(b, by_entity[e]);
      b += "]}]}";
    }
    b += "]}\n";
    out.maybe_flush();
    i = j;
  }
}

void ns_text(std::string& out, TimeUs t) {
  out.push_back('"');
  out += std::to_string(t * 1000);
  out.push_back('"');
}

int severity_number(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace: return 1;
    case LogLevel::kDebug: return 5;
    case LogLevel::kInfo: return 9;
    case LogLevel::kWarn: return 13;
    case LogLevel::kError: return 17;
    case LogLevel::kFatal: return 21;
    case LogLevel::kUnknown: return 0;
  }
  return 0;
}

void write_otlp(const std::string& dir, const DatasetRecords& d, const WriteOptions& opt) {
  const Names n{*d.catalog};
  const std::string ext = opt.gzip ? ".jsonl.gz" : ".jsonl";
  const fs::path root(dir);

  if (!d.metrics.empty()) {
    OutFile out((root / ("metrics" + ext)).string(), opt.gzip);
    write_batches(
        out, n, "resourceMetrics", "scopeMetrics", "metrics", d.metrics, [](const MetricPoint& p) { return p.time; },
        [](const MetricPoint& p) { return p.entity; },
        [&](std::string& b, const std::vector<size_t>& list) {
          // One gauge per KPI, data points in time order.
          std::vector<Id> kpis;
          std::unordered_map<Id, std::vector<size_t>> points;
          for (size_t i : list) {
            auto [it, fresh] = points.try_emplace(d.metrics[i].kpi);
            if (fresh) kpis.push_back(d.metrics[i].kpi);
            it->second.push_back(i);
          }
          for (size_t k = 0; k < kpis.size(); ++k) {
            if (k) b.push_back(',');
            b += "{\"name\":";
            json_string(b, n.kpi(kpis[k]));
            b += ",\"gauge\":{\"dataPoints\":[";
            const auto& pts = points[kpis[k]];
            for (size_t q = 0; q < pts.size(); ++q) {
              const MetricPoint& p = d.metrics[pts[q]];
              if (q) b.push_back(',');
              b += "{\"timeUnixNano\":";
              ns_text(b, p.time);
              b += ",\"asDouble\":";
              json_double(b, p.value);
              b.push_back('}');
            }
            b += "]}}";
          }
        });
    out.close();
  }

  if (!d.spans.empty()) {
    OutFile out((root / ("traces" + ext)).string(), opt.gzip);
    write_batches(
        out, n, "resourceSpans", "scopeSpans", "spans", d.spans, [](const Span& s) { return s.start; },
        [](const Span& s) { return s.entity; },
        [&](std::string& b, const std::vector<size_t>& list) {
          for (size_t k = 0; k < list.size(); ++k) {
            const Span& s = d.spans[list[k]];
            if (k) b.push_back(',');
            b += "{\"traceId\":";
            json_string(b, s.trace_id);
            b += ",\"spanId\":";
            json_string(b, s.span_id);
            if (!s.parent_id.empty()) {
              b += ",\"parentSpanId\":";
              json_string(b, s.parent_id);
            }
            b += ",\"name\":";
            json_string(b, n.operation(s.operation));
            // A span that names its callee is a client span (SPAN_KIND_CLIENT, peer.service); else SERVER.
            const bool client = s.peer != kNoId;
            b += client ? ",\"kind\":3" : ",\"kind\":2";
            b += ",\"startTimeUnixNano\":";
            ns_text(b, s.start);
            b += ",\"endTimeUnixNano\":";
            ns_text(b, s.start + s.duration_us);
            std::string attrs;
            if (s.status_code != 0)
              attrs += cat("{\"key\":\"", s.status_code >= 100 ? "http.response.status_code" : "rpc.grpc.status_code",
                           "\",\"value\":{\"intValue\":\"", s.status_code, "\"}}");
            if (client) {
              if (!attrs.empty()) attrs.push_back(',');
              string_attr(attrs, "peer.service", n.entity(s.peer));
            }
            if (!attrs.empty()) b += ",\"attributes\":[" + attrs + "]";
            // ERROR when failed; an explicit OK only where the code alone would read as an error.
            if (s.error) b += ",\"status\":{\"code\":2}}";
            else if (ingest_detail::status_implies_error(s.status_code)) b += ",\"status\":{\"code\":1}}";
            else b += ",\"status\":{}}";
          }
        });
    out.close();
  }

  if (!d.logs.empty()) {
    OutFile out((root / ("logs" + ext)).string(), opt.gzip);
    write_batches(
        out, n, "resourceLogs", "scopeLogs", "logRecords", d.logs, [](const LogRecord& r) { return r.time; },
        [](const LogRecord& r) { return r.entity; },
        [&](std::string& b, const std::vector<size_t>& list) {
          for (size_t k = 0; k < list.size(); ++k) {
            const LogRecord& r = d.logs[list[k]];
            if (k) b.push_back(',');
            b += "{\"timeUnixNano\":";
            ns_text(b, r.time);
            b += ",\"observedTimeUnixNano\":";
            ns_text(b, r.time);
            if (r.level != LogLevel::kUnknown)
              b += cat(",\"severityNumber\":", severity_number(r.level), ",\"severityText\":\"",
                       log_level_name(r.level), "\"");
            b += ",\"body\":{\"stringValue\":";
            json_string(b, r.message);
            b.push_back('}');
            if (!r.trace_id.empty()) {
              b += ",\"traceId\":";
              json_string(b, r.trace_id);
            }
            if (!r.span_id.empty()) {
              b += ",\"spanId\":";
              json_string(b, r.span_id);
            }
            b.push_back('}');
          }
        });
    out.close();
  }

  if (!d.faults.empty()) {
    ordered_json list = ordered_json::array();
    for (size_t i : order_by_time(d.faults, [](const FaultEvent& f) { return f.start; })) {
      const FaultEvent& f = d.faults[i];
      ordered_json j;
      j["start"] = format_time(f.start);
      if (f.end > f.start) j["end"] = format_time(f.end);
      j["level"] = f.level;
      j["root_cause"] = f.root_cause;
      j["fault_type"] = f.fault_type;
      list.push_back(std::move(j));
    }
    write_whole_file((root / "faults.json").string(),
                     list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
}

}  // namespace

const std::vector<std::string>& nezha_pod_kpis() { return kNezhaPodKpis; }

void write_dataset(const std::string& dir, const std::string& format, const DatasetRecords& data,
                   const WriteOptions& options) {
  RSLICER_CHECK(data.catalog != nullptr, InvalidInput, "write_dataset: DatasetRecords.catalog is not set");
  if (format == "nezha") return write_nezha(dir, data, options);
  if (format == "aiops22") return write_aiops22(dir, data, options);
  if (format == "otlp") return write_otlp(dir, data, options);
  throw InvalidInput(cat("write_dataset: unknown format '", format, "'; known formats: nezha, aiops22, otlp"));
}

}  // namespace rslicer
