// Reader for OpenTelemetry OTLP/JSON as written by the Collector's file
// exporter: one ExportMetricsServiceRequest, ExportTraceServiceRequest or
// ExportLogsServiceRequest JSON object per line, in *.json / *.jsonl /
// *.ndjson files (plain or gzip) under a folder, or one such file. Labels
// come from faults.json / labels.json beside the data. See docs/formats.md.
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

// Integer fields (int64/uint64/fixed64) are strings in OTLP/JSON; accept numbers too.
std::optional<std::int64_t> json_int(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_unsigned()) return static_cast<std::int64_t>(j.get<std::uint64_t>());
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (std::isfinite(d)) return static_cast<std::int64_t>(d);
    return std::nullopt;
  }
  if (j.is_string()) return parse_int(j.get_ref<const std::string&>());
  return std::nullopt;
}

// Doubles are numbers, or "NaN" / "Infinity" / "-Infinity" strings.
std::optional<double> json_double(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return parse_double(j.get_ref<const std::string&>());
  return std::nullopt;
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// An AnyValue as text: strings as they are, numbers and booleans printed,
// arrays and key-value lists as compact JSON.
std::string any_value_text(const json& v) {
  if (!v.is_object()) return v.is_string() ? v.get<std::string>() : v.dump();
  if (const json* s = member(v, "stringValue"); s && s->is_string()) return s->get<std::string>();
  if (const json* i = member(v, "intValue")) {
    if (auto n = json_int(*i)) return std::to_string(*n);
  }
  if (const json* d = member(v, "doubleValue")) {
    if (auto x = json_double(*d)) return ingest_detail::format_double(*x);
  }
  if (const json* b = member(v, "boolValue"); b && b->is_boolean()) return b->get<bool>() ? "true" : "false";
  if (const json* b = member(v, "bytesValue"); b && b->is_string()) return b->get<std::string>();
  if (const json* a = member(v, "arrayValue")) return a->dump(-1, ' ', false, json::error_handler_t::replace);
  if (const json* k = member(v, "kvlistValue")) return k->dump(-1, ' ', false, json::error_handler_t::replace);
  return "";
}

// Value of attribute `key` in an OTLP attribute list, as text ("" when absent).
std::string attribute(const json* attrs, const char* key) {
  if (!attrs || !attrs->is_array()) return "";
  for (const auto& kv : *attrs) {
    const json* k = member(kv, "key");
    if (k && k->is_string() && k->get_ref<const std::string&>() == key) {
      const json* v = member(kv, "value");
      return v ? any_value_text(*v) : "";
    }
  }
  return "";
}

// "{k1=v1,k2=v2}" of a data point's attributes, keys sorted; "" when none.
std::string attributes_suffix(const json* attrs) {
  if (!attrs || !attrs->is_array() || attrs->empty()) return "";
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& a : *attrs) {
    const json* k = member(a, "key");
    const json* v = member(a, "value");
    if (k && k->is_string()) kv.emplace_back(k->get<std::string>(), v ? any_value_text(*v) : "");
  }
  if (kv.empty()) return "";
  std::sort(kv.begin(), kv.end());
  std::string out = "{";
  for (size_t i = 0; i < kv.size(); ++i) {
    if (i) out.push_back(',');
    out += kv[i].first;
    out.push_back('=');
    out += kv[i].second;
  }
  out.push_back('}');
  return out;
}

// The scope arrays under a resource: scopeMetrics (current) or
// instrumentationLibraryMetrics (OTLP < 0.15), same for spans and logs.
const json* scopes(const json& resource_block, const char* current, const char* legacy) {
  if (const json* s = member(resource_block, current); s && s->is_array()) return s;
  if (const json* s = member(resource_block, legacy); s && s->is_array()) return s;
  return nullptr;
}

LogLevel level_of_severity_number(std::int64_t n) {
  if (n >= 1 && n <= 4) return LogLevel::kTrace;
  if (n >= 5 && n <= 8) return LogLevel::kDebug;
  if (n >= 9 && n <= 12) return LogLevel::kInfo;
  if (n >= 13 && n <= 16) return LogLevel::kWarn;
  if (n >= 17 && n <= 20) return LogLevel::kError;
  if (n >= 21 && n <= 24) return LogLevel::kFatal;
  return LogLevel::kUnknown;
}

bool is_zero_id(const std::string& id) { return id.find_first_not_of('0') == std::string::npos; }

struct Sink {
  Catalog* catalog;
  ParseStats* stats;
  ReadCounts* counts;
  bool account_file;
};

struct Modalities {
  bool metrics = true, traces = true, logs = true;
};

// Reads one OTLP/JSON-lines file; each line's records are sorted by time and
// emitted before the next line is read.
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

  void reject(const char* category, const std::string& detail) {
    sink_.stats->reject(path_, lines_->line_number(), category, detail);
  }

  void parse_line(std::string_view line) {
    if (trim(line).empty()) return;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      reject("bad_json", cat("not a JSON object: '", line.substr(0, 60), line.size() > 60 ? "...'" : "'"));
      return;
    }
    const json* rm = member(j, "resourceMetrics");
    const json* rs = member(j, "resourceSpans");
    const json* rl = member(j, "resourceLogs");
    if (!rm && !rs && !rl) {
      reject("unknown_object", "line holds none of resourceMetrics, resourceSpans, resourceLogs");
      return;
    }
    if (rm && want_.metrics) {
      if (!rm->is_array()) reject("bad_otlp", "resourceMetrics is not an array");
      else for (const auto& r : *rm) resource_metrics(r);
    }
    if (rs && want_.traces) {
      if (!rs->is_array()) reject("bad_otlp", "resourceSpans is not an array");
      else for (const auto& r : *rs) resource_spans(r);
    }
    if (rl && want_.logs) {
      if (!rl->is_array()) reject("bad_otlp", "resourceLogs is not an array");
      else for (const auto& r : *rl) resource_logs(r);
    }
  }

  // Entity of a resource: k8s.pod.name -> pod (service from service.name,
  // node from k8s.node.name / host.name); else service.name -> service;
  // else k8s.node.name / host.name -> node. kNoId when none is set.
  Id resource_entity(const json& block) {
    const json* attrs = nullptr;
    if (const json* res = member(block, "resource")) attrs = member(*res, "attributes");
    const std::string pod = attribute(attrs, "k8s.pod.name");
    const std::string service = attribute(attrs, "service.name");
    std::string node = attribute(attrs, "k8s.node.name");
    if (node.empty()) node = attribute(attrs, "host.name");
    Catalog& c = *sink_.catalog;
    if (!pod.empty()) {
      const Id id = c.entity(pod, EntityKind::kPod, service);
      if (!node.empty() && c.entity_info[id].node == kNoId && node != pod) {
        const Id nid = c.entity(node, EntityKind::kNode);
        c.entity_info[id].node = nid;
      }
      return id;
    }
    if (!service.empty()) return c.entity(service, EntityKind::kService);
    if (!node.empty()) return c.entity(node, EntityKind::kNode);
    return kNoId;
  }

  bool time_of(const json& obj, const char* key, std::int64_t& ns) {
    const json* t = member(obj, key);
    if (!t) return false;
    const auto v = json_int(*t);
    if (!v || *v <= 0) return false;
    ns = *v;
    return true;
  }

  void emit_point(TimeUs t, Id entity, const std::string& kpi, std::optional<double> v) {
    if (!v || !std::isfinite(*v)) {
      ++sink_.counts->metric_non_finite;
      return;
    }
    ++sink_.counts->metric_points;
    buffer_.emplace_back(MetricPoint{t, entity, sink_.catalog->kpis.intern(kpi), *v});
  }

  void resource_metrics(const json& block) {
    const json* sc = scopes(block, "scopeMetrics", "instrumentationLibraryMetrics");
    if (!sc) return;
    const Id entity = resource_entity(block);
    for (const auto& s : *sc) {
      const json* metrics = member(s, "metrics");
      if (!metrics || !metrics->is_array()) continue;
      for (const auto& m : *metrics) {
        const json* name_j = member(m, "name");
        if (!name_j || !name_j->is_string() || name_j->get_ref<const std::string&>().empty()) {
          reject("missing_field", "metric without a name");
          continue;
        }
        const std::string& name = name_j->get_ref<const std::string&>();
        const char* type = nullptr;
        const json* data = nullptr;
        for (const char* t : {"gauge", "sum", "histogram", "exponentialHistogram", "summary"}) {
          if ((data = member(m, t))) {
            type = t;
            break;
          }
        }
        if (!data) {
          reject("bad_otlp", cat("metric '", name, "' has no gauge, sum, histogram, exponentialHistogram or summary"));
          continue;
        }
        const json* points = member(*data, "dataPoints");
        if (!points || !points->is_array()) continue;
        for (const auto& dp : *points) {
          if (entity == kNoId) {
            reject("missing_entity", cat("metric '", name,
                                         "': resource has none of k8s.pod.name, service.name, k8s.node.name, host.name"));
            continue;
          }
          std::int64_t ns = 0;
          if (!time_of(dp, "timeUnixNano", ns)) {
            reject("bad_time", cat("metric '", name, "': data point without a valid timeUnixNano"));
            continue;
          }
          const TimeUs t = ns / 1000;
          ++sink_.counts->metric_rows;
          const std::int64_t flags = member(dp, "flags") ? json_int(*member(dp, "flags")).value_or(0) : 0;
          if (flags & 1) {  // FLAG_NO_RECORDED_VALUE
            ++sink_.counts->metric_non_finite;
            continue;
          }
          const std::string attrs = attributes_suffix(member(dp, "attributes"));
          const std::string_view tp(type);
          if (tp == "gauge" || tp == "sum") {
            std::optional<double> v;
            if (const json* d = member(dp, "asDouble")) v = json_double(*d);
            else if (const json* i = member(dp, "asInt")) {
              if (auto n = json_int(*i)) v = static_cast<double>(*n);
            } else v = 0.0;  // proto3 JSON omits zero values
            emit_point(t, entity, name + attrs, v);
            continue;
          }
          // histogram, exponentialHistogram, summary: count, sum, mean, min, max, quantiles
          std::optional<double> count = 0.0, sum;
          if (const json* c = member(dp, "count")) {
            if (auto n = json_int(*c)) count = static_cast<double>(*n);
            else count = std::nullopt;
          }
          if (const json* s2 = member(dp, "sum")) sum = json_double(*s2);
          emit_point(t, entity, name + ".count" + attrs, count);
          if (sum) {
            emit_point(t, entity, name + ".sum" + attrs, sum);
            if (count && *count > 0) emit_point(t, entity, name + ".mean" + attrs, *sum / *count);
          }
          for (const char* k : {"min", "max"}) {
            if (const json* x = member(dp, k)) emit_point(t, entity, cat(name, ".", k, attrs), json_double(*x));
          }
          if (const json* qs = member(dp, "quantileValues"); qs && qs->is_array()) {
            for (const auto& q : *qs) {
              const double quantile = member(q, "quantile") ? json_double(*member(q, "quantile")).value_or(0) : 0;
              const std::optional<double> value = member(q, "value") ? json_double(*member(q, "value")) : 0.0;
              char pct[32];
              std::snprintf(pct, sizeof pct, "%.6g", quantile * 100);  // 0.999 -> "99.9"
              emit_point(t, entity, cat(name, ".p", pct, attrs), value);
            }
          }
        }
      }
    }
  }

  void resource_spans(const json& block) {
    const json* sc = scopes(block, "scopeSpans", "instrumentationLibrarySpans");
    if (!sc) return;
    const Id entity = resource_entity(block);
    for (const auto& s : *sc) {
      const json* spans = member(s, "spans");
      if (!spans || !spans->is_array()) continue;
      for (const auto& sp : *spans) {
        if (entity == kNoId) {
          reject("missing_entity", "span: resource has none of k8s.pod.name, service.name, k8s.node.name, host.name");
          continue;
        }
        Span out;
        const json* tid = member(sp, "traceId");
        const json* sid = member(sp, "spanId");
        if (tid && tid->is_string()) out.trace_id = tid->get<std::string>();
        if (sid && sid->is_string()) out.span_id = sid->get<std::string>();
        if (out.trace_id.empty() || out.span_id.empty()) {
          reject("missing_field", out.trace_id.empty() ? "span without traceId" : "span without spanId");
          continue;
        }
        std::int64_t start_ns = 0, end_ns = 0;
        if (!time_of(sp, "startTimeUnixNano", start_ns)) {
          reject("bad_time", cat("span ", out.span_id, ": no valid startTimeUnixNano"));
          continue;
        }
        if (!time_of(sp, "endTimeUnixNano", end_ns)) end_ns = start_ns;
        if (end_ns < start_ns) {
          reject("bad_duration", cat("span ", out.span_id, ": endTimeUnixNano before startTimeUnixNano"));
          continue;
        }
        out.start = start_ns / 1000;
        out.duration_us = (end_ns - start_ns) / 1000;
        out.entity = entity;
        if (const json* p = member(sp, "parentSpanId"); p && p->is_string() && !is_zero_id(p->get<std::string>()))
          out.parent_id = p->get<std::string>();
        const json* name = member(sp, "name");
        out.operation = sink_.catalog->operations.intern(name && name->is_string() ? name->get<std::string>() : "");
        const json* attrs = member(sp, "attributes");
        std::string code = attribute(attrs, "http.response.status_code");
        if (code.empty()) code = attribute(attrs, "http.status_code");
        if (code.empty()) code = attribute(attrs, "rpc.grpc.status_code");
        if (!code.empty()) {
          const auto n = parse_int(code);
          if (n && *n >= 0 && *n < (1LL << 31)) out.status_code = static_cast<std::int32_t>(*n);
        }
        std::int64_t otlp_status = 0;
        if (const json* st = member(sp, "status")) {
          if (const json* c = member(*st, "code")) {
            if (c->is_string()) {
              const std::string v = c->get<std::string>();
              otlp_status = v == "STATUS_CODE_ERROR" ? 2 : v == "STATUS_CODE_OK" ? 1 : parse_int(v).value_or(0);
            } else {
              otlp_status = json_int(*c).value_or(0);
            }
          }
        }
        out.error = otlp_status == 2 ? true
                    : otlp_status == 1 ? false
                                       : ingest_detail::status_implies_error(out.status_code);
        ++sink_.counts->spans;
        buffer_.emplace_back(std::move(out));
      }
    }
  }

  void resource_logs(const json& block) {
    const json* sc = scopes(block, "scopeLogs", "instrumentationLibraryLogs");
    if (!sc) return;
    const Id entity = resource_entity(block);
    for (const auto& s : *sc) {
      const json* records = member(s, "logRecords");
      if (!records || !records->is_array()) continue;
      for (const auto& lr : *records) {
        if (entity == kNoId) {
          reject("missing_entity", "log record: resource has none of k8s.pod.name, service.name, k8s.node.name, host.name");
          continue;
        }
        std::int64_t ns = 0;
        if (!time_of(lr, "timeUnixNano", ns) && !time_of(lr, "observedTimeUnixNano", ns)) {
          reject("bad_time", "log record without a valid timeUnixNano or observedTimeUnixNano");
          continue;
        }
        LogRecord out;
        out.time = ns / 1000;
        out.entity = entity;
        if (const json* st = member(lr, "severityText"); st && st->is_string())
          out.level = parse_log_level(st->get_ref<const std::string&>());
        if (out.level == LogLevel::kUnknown) {
          if (const json* sn = member(lr, "severityNumber")) {
            if (sn->is_string()) {
              // enum name form: "SEVERITY_NUMBER_WARN2"
              std::string v = sn->get<std::string>();
              if (starts_with(v, "SEVERITY_NUMBER_")) v = v.substr(16);
              while (!v.empty() && v.back() >= '0' && v.back() <= '9') v.pop_back();
              out.level = parse_log_level(v);
              if (out.level == LogLevel::kUnknown) out.level = level_of_severity_number(json_int(*sn).value_or(0));
            } else {
              out.level = level_of_severity_number(json_int(*sn).value_or(0));
            }
          }
        }
        if (const json* body = member(lr, "body")) out.message = any_value_text(*body);
        if (const json* t = member(lr, "traceId"); t && t->is_string() && !is_zero_id(t->get<std::string>()))
          out.trace_id = t->get<std::string>();
        if (const json* t = member(lr, "spanId"); t && t->is_string() && !is_zero_id(t->get<std::string>()))
          out.span_id = t->get<std::string>();
        ++sink_.counts->log_records;
        buffer_.emplace_back(std::move(out));
      }
    }
  }

  std::string path_;
  Sink sink_;
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
        const auto ds = json_double(*d);
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
