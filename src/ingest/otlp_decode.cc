// OTLP export requests <-> records (otlp_decode.h). One set of semantic
// rules (resource -> entity, data point -> KPI points, span status -> error,
// severity -> level) serves two thin walkers: one over the OTLP/JSON DOM
// (nlohmann), one over the protobuf messages generated from otlp_proto/.
#include "ingest/otlp_decode.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/errors.h"
#include "core/strings.h"
#include "ingest/aiops22_shared.h"
#include "otlp_proto/logs_service.pb.h"
#include "otlp_proto/metrics_service.pb.h"
#include "otlp_proto/trace_service.pb.h"

namespace rslicer {

namespace {

using nlohmann::json;
namespace pbc = opentelemetry::proto::common::v1;
namespace pbr = opentelemetry::proto::resource::v1;
namespace pbm = opentelemetry::proto::metrics::v1;
namespace pbt = opentelemetry::proto::trace::v1;
namespace pbl = opentelemetry::proto::logs::v1;
namespace pbcm = opentelemetry::proto::collector::metrics::v1;
namespace pbct = opentelemetry::proto::collector::trace::v1;
namespace pbcl = opentelemetry::proto::collector::logs::v1;

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kEntityKeys = "k8s.pod.name, service.name, k8s.node.name, host.name";
// Attribute values nested deeper than this are not printed (a hostile body
// must not exhaust the stack of a recursive printer).
constexpr int kMaxValueDepth = 256;

// ------------------------------------------------------------ bytes and text

std::string hex_of(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The bytes a record's id stands for: its hex decoded, or (not hex) its text.
std::string id_bytes(std::string_view id) {
  std::string out;
  if (id.size() % 2 == 0) {
    out.reserve(id.size() / 2);
    for (size_t i = 0; i < id.size(); i += 2) {
      const int hi = hex_digit(id[i]), lo = hex_digit(id[i + 1]);
      if (hi < 0 || lo < 0) return std::string(id);
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
  }
  return std::string(id);
}

// `s` with each byte that does not start a valid UTF-8 sequence replaced by
// U+FFFD (protobuf refuses strings that are not UTF-8).
std::string utf8_clean(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  if (i == s.size()) return std::string(s);
  std::string out(s.substr(0, i));
  auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  while (i < s.size()) {
    const unsigned c = byte(i);
    size_t len = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    const unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    for (size_t k = 1; k < len; ++k) {
      const unsigned b = byte(i + k);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) len = 0;
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool is_zero_id(std::string_view id) { return id.find_first_not_of('0') == std::string_view::npos; }

// ------------------------------------------------------------ OTLP/JSON access

// Integer fields (int64/uint64/fixed64) are strings in OTLP/JSON; accept numbers too.
std::optional<std::int64_t> json_int(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_unsigned()) return static_cast<std::int64_t>(j.get<std::uint64_t>());
  if (j.is_number_float()) {
    const double d = j.get<double>();
    // In range only: casting 1e300 to int64 is undefined (UBSan; tests/fuzz_regressions/otlp/).
    if (d >= -0x1p63 && d < 0x1p63) return static_cast<std::int64_t>(d);
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

// A timestamp member in nanoseconds; 0 when absent or not a positive integer.
std::int64_t json_time(const json& obj, const char* key) {
  const json* t = member(obj, key);
  if (!t) return 0;
  const auto v = json_int(*t);
  return v && *v > 0 ? *v : 0;
}

bool deeper_than(const json& v, int depth) {
  if (depth < 0) return true;
  if (v.is_object() || v.is_array())
    for (const auto& e : v)
      if (deeper_than(e, depth - 1)) return true;
  return false;
}

// Compact JSON text of a value (invalid UTF-8 replaced).
std::string compact(const json& v) {
  if (deeper_than(v, kMaxValueDepth)) return "(value nested too deep)";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// An AnyValue as text: strings as they are, numbers and booleans printed,
// arrays and key-value lists as compact JSON (their OTLP/JSON form).
std::string any_value_text(const json& v) {
  if (!v.is_object()) return v.is_string() ? v.get<std::string>() : compact(v);
  if (const json* s = member(v, "stringValue"); s && s->is_string()) return s->get<std::string>();
  if (const json* i = member(v, "intValue")) {
    if (auto n = json_int(*i)) return std::to_string(*n);
  }
  if (const json* d = member(v, "doubleValue")) {
    if (auto x = json_double(*d)) return ingest_detail::format_double(*x);
  }
  if (const json* b = member(v, "boolValue"); b && b->is_boolean()) return b->get<bool>() ? "true" : "false";
  if (const json* b = member(v, "bytesValue"); b && b->is_string()) return b->get<std::string>();
  if (const json* a = member(v, "arrayValue")) return compact(*a);
  if (const json* k = member(v, "kvlistValue")) return compact(*k);
  return "";
}

// Value of attribute `key` in an OTLP/JSON attribute list, as text ("" when absent).
std::string json_attribute(const json* attrs, const char* key) {
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

Pairs json_pairs(const json* attrs) {
  Pairs kv;
  if (!attrs || !attrs->is_array()) return kv;
  for (const auto& a : *attrs) {
    const json* k = member(a, "key");
    const json* v = member(a, "value");
    if (k && k->is_string()) kv.emplace_back(k->get<std::string>(), v ? any_value_text(*v) : "");
  }
  return kv;
}

// The scope arrays under a resource: scopeMetrics (current) or
// instrumentationLibraryMetrics (OTLP < 0.15), same for spans and logs.
const json* scopes(const json& resource_block, const char* current, const char* legacy) {
  if (const json* s = member(resource_block, current); s && s->is_array()) return s;
  if (const json* s = member(resource_block, legacy); s && s->is_array()) return s;
  return nullptr;
}

// ------------------------------------------------------------ protobuf access

using PbAttrs = google::protobuf::RepeatedPtrField<pbc::KeyValue>;

// A nested AnyValue member in its OTLP/JSON form, as the JSON path prints it.
template <typename Message>
std::string pb_compact(const Message& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions opt;
  opt.always_print_enums_as_ints = true;
  if (!google::protobuf::util::MessageToJsonString(m, &text, opt).ok()) return "";
  const json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? "" : compact(j);
}

std::string any_value_text(const pbc::AnyValue& v) {
  switch (v.value_case()) {
    case pbc::AnyValue::kStringValue:
      return v.string_value();
    case pbc::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case pbc::AnyValue::kDoubleValue:
      return ingest_detail::format_double(v.double_value());
    case pbc::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case pbc::AnyValue::kBytesValue:
      return base64_of(v.bytes_value());
    case pbc::AnyValue::kArrayValue:
      return pb_compact(v.array_value());
    case pbc::AnyValue::kKvlistValue:
      return pb_compact(v.kvlist_value());
    case pbc::AnyValue::VALUE_NOT_SET:
      break;
  }
  return "";
}

std::string pb_attribute(const PbAttrs& attrs, const char* key) {
  for (const auto& kv : attrs)
    if (kv.key() == key) return any_value_text(kv.value());
  return "";
}

// Keys as the JSON form has them: proto3 JSON leaves an empty key out.
Pairs pb_pairs(const PbAttrs& attrs) {
  Pairs kv;
  for (const auto& a : attrs)
    if (!a.key().empty()) kv.emplace_back(a.key(), any_value_text(a.value()));
  return kv;
}

// Nanosecond timestamps are fixed64; beyond int64 they are invalid like 0.
std::int64_t pb_time(std::uint64_t ns) {
  return ns > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? 0 : static_cast<std::int64_t>(ns);
}

// ------------------------------------------------------------ shared rules

// "{k1=v1,k2=v2}" of a data point's attributes, keys sorted; "" when none.
std::string attributes_suffix(Pairs kv) {
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

LogLevel level_of_severity_number(std::int64_t n) {
  if (n < 1 || n > 24) return LogLevel::kUnknown;
  return static_cast<LogLevel>(static_cast<int>(LogLevel::kTrace) + (n - 1) / 4);  // 4 steps per level
}

// Level from severityText, else the enum name form of severityNumber
// ("SEVERITY_NUMBER_WARN2", JSON only), else its number.
LogLevel severity_level(std::string_view text, std::int64_t number, std::string_view enum_name = {}) {
  LogLevel level = parse_log_level(text);
  if (level != LogLevel::kUnknown) return level;
  if (!enum_name.empty()) {
    std::string_view v = enum_name;
    if (starts_with(v, "SEVERITY_NUMBER_")) v.remove_prefix(16);
    while (!v.empty() && v.back() >= '0' && v.back() <= '9') v.remove_suffix(1);
    level = parse_log_level(v);
    if (level != LogLevel::kUnknown) return level;
  }
  return level_of_severity_number(number);
}

// OTLP status ERROR (2) fails a span, OK (1) clears it, UNSET leaves it to the protocol status.
bool span_error(std::int64_t otlp_status, std::int32_t status_code) {
  if (otlp_status == 2) return true;
  if (otlp_status == 1) return false;
  return ingest_detail::status_implies_error(status_code);
}

// Protocol status of a span from its attributes (`attr(key)` -> text): HTTP,
// else gRPC; 0 when none. A gRPC error behind an HTTP success (gRPC carries
// its status in a trailer of an HTTP 200 response) is the span's status:
// status_implies_error() reads both kinds of code.
template <typename Attr>
std::int32_t span_status_code(Attr attr) {
  auto code_of = [&](const char* key) -> std::int32_t {
    const std::string text = attr(key);
    if (text.empty()) return -1;
    const auto n = parse_int(text);
    return n && *n >= 0 && *n < (1LL << 31) ? static_cast<std::int32_t>(*n) : -1;
  };
  std::int32_t http = code_of("http.response.status_code");
  if (http < 0) http = code_of("http.status_code");
  const std::int32_t grpc = code_of("rpc.grpc.status_code");
  if (grpc >= 0 && (http < 0 || (ingest_detail::status_implies_error(grpc) && !ingest_detail::status_implies_error(http))))
    return grpc;
  return http < 0 ? 0 : http;
}

// SpanKind values (OTLP trace.proto) and their protojson names, by value.
constexpr std::int64_t kSpanKindClient = 3;
constexpr std::int64_t kSpanKindProducer = 4;
const char* const kSpanKindNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                      "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};

// An IP literal names no service: v4 digits and dots, or any address with a colon (v6).
bool ip_literal(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

// The entity a client span calls, from its attributes (`attr(key)` -> text): peer.service (the
// semantic conventions' name for the remote service), else the host of server.address / net.peer.name
// (older conventions): the name of an entity already known, else its first DNS label when that is one
// or the name is Kubernetes service DNS (<service>.<namespace>.svc...), else the whole host name. IP
// addresses name nothing. A name not yet in the catalog becomes a service entity. kNoId when unnamed.
template <typename Attr>
Id peer_entity(Catalog& c, Attr attr) {
  std::string name = attr("peer.service");
  if (name.empty()) {
    std::string host = attr("server.address");
    if (host.empty()) host = attr("net.peer.name");
    if (const auto colon = host.find(':'); colon != std::string::npos && host.find(':', colon + 1) == std::string::npos)
      host.resize(colon);  // host:port
    if (host.empty() || ip_literal(host)) return kNoId;
    name = host;
    if (const auto dot = host.find('.'); dot != std::string::npos && c.entities.find(host) == kNoId) {
      const std::string first = host.substr(0, dot);
      if (c.entities.find(first) != kNoId || host.find(".svc.") != std::string::npos || ends_with(host, ".svc"))
        name = first;
    }
  }
  if (name.empty()) return kNoId;
  const Id known = c.entities.find(name);
  return known != kNoId ? known : c.entity(name, EntityKind::kService);
}

// Structured log bodies (a kvlistValue: {"level": "error", "message": "..."}
// as JSON loggers emit them): the message is the value of the first message
// key, the level that of the first level key when the record has no
// severity. Without a message key the body stays its compact JSON.
const char* const kBodyMessageKeys[] = {"message", "msg", "log", "body", "text", "event"};
const char* const kBodyLevelKeys[] = {"level", "severity", "lvl", "log.level", "levelname", "loglevel"};

void apply_structured_body(const Pairs& kv, LogRecord& out) {
  auto value_of = [&](const char* const* keys, size_t n) -> const std::string* {
    for (size_t i = 0; i < n; ++i)
      for (const auto& [k, v] : kv)
        if (to_lower(k) == keys[i]) return &v;
    return nullptr;
  };
  if (const std::string* m = value_of(kBodyMessageKeys, std::size(kBodyMessageKeys))) out.message = *m;
  else return;
  if (out.level == LogLevel::kUnknown)
    if (const std::string* l = value_of(kBodyLevelKeys, std::size(kBodyLevelKeys))) out.level = parse_log_level(*l);
}

// A histogram, exponential histogram or summary point's values.
struct Distribution {
  std::optional<double> count = 0.0;  // nullopt: present but not a number
  std::optional<double> sum;          // nullopt: absent (or not a number)
  bool has_min = false, has_max = false;
  std::optional<double> min, max;  // nullopt with has_*: present but not a number
  std::vector<std::pair<double, std::optional<double>>> quantiles;
};

// Histogram and exponential histogram points (the same accessors).
template <typename Point>
Distribution pb_distribution(const Point& dp) {
  Distribution d;
  d.count = static_cast<double>(dp.count());
  if (dp.has_sum()) d.sum = dp.sum();
  if ((d.has_min = dp.has_min())) d.min = dp.min();
  if ((d.has_max = dp.has_max())) d.max = dp.max();
  return d;
}

Distribution pb_distribution(const pbm::SummaryDataPoint& dp) {
  Distribution d;
  d.count = static_cast<double>(dp.count());
  if (dp.sum() != 0) d.sum = dp.sum();  // a zero sum is absent in the JSON form
  for (const auto& q : dp.quantile_values()) d.quantiles.emplace_back(q.quantile(), q.value());
  return d;
}

// The decoding of one body: appends records, counts problems.
class Context {
 public:
  Context(Catalog& catalog, ParseStats& stats, ReadCounts& counts, std::vector<Record>& out, const std::string& origin,
          std::int64_t line)
      : catalog_(catalog),
        stats_(stats),
        counts_(counts),
        out_(out),
        origin_(origin),
        line_(line),
        before_(out.size()) {}

  // A rejected part of the body, covering `n` records.
  void reject(const char* category, const std::string& detail, std::int64_t n = 1) {
    stats_.reject(origin_, line_, category, detail);
    result_.rejected += n;
    if (result_.first_reject.empty()) result_.first_reject = detail;
  }

  // The body is not a request of the expected kind.
  void fail(const char* category, const std::string& why) {
    stats_.reject(origin_, line_, category, why);
    result_.ok = false;
    result_.error = why;
  }

  OtlpDecodeResult finish() {
    result_.records = static_cast<std::int64_t>(out_.size() - before_);
    return std::move(result_);
  }

  // Entity of a resource (`attr(key)` -> text): k8s.pod.name -> pod (service
  // from service.name, node from k8s.node.name / host.name); else
  // service.name -> service; else k8s.node.name / host.name -> node. kNoId
  // when none is set.
  template <typename Attr>
  Id entity(Attr attr) {
    const std::string pod = attr("k8s.pod.name");
    const std::string service = attr("service.name");
    std::string node = attr("k8s.node.name");
    if (node.empty()) node = attr("host.name");
    Catalog& c = catalog_;
    // Two containers of one pod (an istio-proxy sidecar beside the app) report the same metric names: the
    // container qualifies their KPIs (with_container), the pod stays the entity.
    container_ = pod.empty() ? std::string() : attr("k8s.container.name");
    if (pod.empty() && !service.empty()) {
      // Replicas without pods (VMs, processes) that share a service.name: one instance entity each.
      const std::string instance = attr("service.instance.id");
      if (!instance.empty()) {
        const Id id = c.entity(cat(service, "/", instance), EntityKind::kInstance, service);
        if (!node.empty() && c.entity_info[id].node == kNoId) c.entity_info[id].node = c.entity(node, EntityKind::kNode);
        return id;
      }
    }
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

  // A data point's attributes with the resource's container, when it has one
  // and the point does not name its container itself (cAdvisor's "container").
  Pairs with_container(Pairs kv) const {
    if (container_.empty()) return kv;
    for (const auto& [k, v] : kv)
      if (k == "container" || k == "k8s.container.name") return kv;
    kv.emplace_back("k8s.container.name", container_);
    return kv;
  }

  // Checks a data point of metric `name`; false when it gives no value.
  bool begin_point(Id entity, const std::string& name, std::int64_t ns, std::int64_t flags, TimeUs& t) {
    if (entity == kNoId) {
      reject("missing_entity", cat("metric '", name, "': resource has none of ", kEntityKeys));
      return false;
    }
    if (ns <= 0) {
      reject("bad_time", cat("metric '", name, "': data point without a valid timeUnixNano"));
      return false;
    }
    t = ns / 1000;
    ++counts_.metric_rows;
    if (flags & 1) {  // FLAG_NO_RECORDED_VALUE
      ++counts_.metric_non_finite;
      return false;
    }
    return true;
  }

  void point(TimeUs t, Id entity, const std::string& kpi, std::optional<double> v) {
    if (!v || !std::isfinite(*v)) {
      ++counts_.metric_non_finite;
      return;
    }
    ++counts_.metric_points;
    out_.emplace_back(MetricPoint{t, entity, catalog_.kpis.intern(kpi), *v});
  }

  // .count, .sum, .mean, .min, .max and .pNN points of a distribution.
  void distribution(TimeUs t, Id entity, const std::string& name, const std::string& attrs, const Distribution& d) {
    point(t, entity, name + ".count" + attrs, d.count);
    if (d.sum) {
      point(t, entity, name + ".sum" + attrs, d.sum);
      if (d.count && *d.count > 0) point(t, entity, name + ".mean" + attrs, *d.sum / *d.count);
    }
    if (d.has_min) point(t, entity, name + ".min" + attrs, d.min);
    if (d.has_max) point(t, entity, name + ".max" + attrs, d.max);
    for (const auto& [quantile, value] : d.quantiles) {
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.6g", quantile * 100);  // 0.999 -> "99.9"
      point(t, entity, cat(name, ".p", pct, attrs), value);
    }
  }

  // Checks a span whose ids are set and fills its times; false when rejected.
  bool begin_span(Id entity, Span& s, std::int64_t start_ns, std::int64_t end_ns) {
    if (entity == kNoId) {
      reject("missing_entity", cat("span: resource has none of ", kEntityKeys));
      return false;
    }
    if (s.trace_id.empty() || s.span_id.empty()) {
      reject("missing_field", s.trace_id.empty() ? "span without traceId" : "span without spanId");
      return false;
    }
    if (start_ns <= 0) {
      reject("bad_time", cat("span ", s.span_id, ": no valid startTimeUnixNano"));
      return false;
    }
    if (end_ns <= 0) end_ns = start_ns;
    if (end_ns < start_ns) {
      reject("bad_duration", cat("span ", s.span_id, ": endTimeUnixNano before startTimeUnixNano"));
      return false;
    }
    s.start = start_ns / 1000;
    s.duration_us = (end_ns - start_ns) / 1000;
    s.entity = entity;
    return true;
  }

  void set_parent(Span& s, std::string parent) {
    if (!is_zero_id(parent)) s.parent_id = parent;
  }

  // Name, protocol status, error and (client spans) named callee of a checked span; appends it.
  template <typename Attr>
  void end_span(Span&& s, std::string_view name, std::int64_t otlp_status, std::int64_t kind, Attr attr) {
    s.operation = catalog_.operations.intern(name);
    s.status_code = span_status_code(attr);
    s.error = span_error(otlp_status, s.status_code);
    if (kind == kSpanKindClient || kind == kSpanKindProducer) s.peer = peer_entity(catalog_, attr);
    ++counts_.spans;
    out_.emplace_back(std::move(s));
  }

  // Checks a log record and fills its time; false when rejected.
  bool begin_log(Id entity, LogRecord& l, std::int64_t ns, std::int64_t observed_ns) {
    if (entity == kNoId) {
      reject("missing_entity", cat("log record: resource has none of ", kEntityKeys));
      return false;
    }
    if (ns <= 0) ns = observed_ns;
    if (ns <= 0) {
      reject("bad_time", "log record without a valid timeUnixNano or observedTimeUnixNano");
      return false;
    }
    l.time = ns / 1000;
    l.entity = entity;
    return true;
  }

  void end_log(LogRecord&& l, std::string trace_id, std::string span_id) {
    if (!is_zero_id(trace_id)) l.trace_id = trace_id;
    if (!is_zero_id(span_id)) l.span_id = span_id;
    ++counts_.log_records;
    out_.emplace_back(std::move(l));
  }

 private:
  Catalog& catalog_;
  ParseStats& stats_;
  ReadCounts& counts_;
  std::vector<Record>& out_;
  const std::string& origin_;
  std::int64_t line_;
  size_t before_;
  OtlpDecodeResult result_;
  std::string container_;  // k8s.container.name of the current resource (pods only)
};

// ------------------------------------------------------------ OTLP/JSON walk

const char* const kJsonArrays[] = {"resourceSpans", "resourceMetrics", "resourceLogs"};  // by OtlpSignal

Id json_entity(Context& cx, const json& block) {
  const json* attrs = nullptr;
  if (const json* res = member(block, "resource")) attrs = member(*res, "attributes");
  return cx.entity([attrs](const char* key) { return json_attribute(attrs, key); });
}

// Calls fn(entity, item) for each item (metric, span, log record) of a
// resource block: the block's scopes (current key, else the OTLP < 0.15
// legacy key), each scope's `items` array. The entity is resolved once, and
// only when the block has scopes.
template <typename Fn>
void json_each(Context& cx, const json& block, const char* scopes_key, const char* legacy_key, const char* items,
               Fn fn) {
  const json* sc = scopes(block, scopes_key, legacy_key);
  if (!sc) return;
  const Id entity = json_entity(cx, block);
  for (const auto& s : *sc) {
    const json* list = member(s, items);
    if (!list || !list->is_array()) continue;
    for (const auto& item : *list) fn(entity, item);
  }
}

// Data points of a metric of any type (for counting a rejected metric).
std::int64_t json_point_count(const json& m) {
  for (const char* t : {"gauge", "sum", "histogram", "exponentialHistogram", "summary"}) {
    const json* d = member(m, t);
    const json* points = d ? member(*d, "dataPoints") : nullptr;
    if (points && points->is_array()) return std::max<std::int64_t>(1, static_cast<std::int64_t>(points->size()));
  }
  return 1;
}

Distribution json_distribution(const json& dp) {
  Distribution d;
  if (const json* c = member(dp, "count")) {
    if (auto n = json_int(*c))
      d.count = static_cast<double>(*n);
    else
      d.count = std::nullopt;
  }
  if (const json* s = member(dp, "sum")) d.sum = json_double(*s);
  if (const json* x = member(dp, "min")) d.has_min = true, d.min = json_double(*x);
  if (const json* x = member(dp, "max")) d.has_max = true, d.max = json_double(*x);
  if (const json* qs = member(dp, "quantileValues"); qs && qs->is_array()) {
    for (const auto& q : *qs) {
      const double quantile = member(q, "quantile") ? json_double(*member(q, "quantile")).value_or(0) : 0;
      const std::optional<double> value = member(q, "value") ? json_double(*member(q, "value")) : 0.0;
      d.quantiles.emplace_back(quantile, value);
    }
  }
  return d;
}

void json_metrics(Context& cx, const json& block) {
  json_each(cx, block, "scopeMetrics", "instrumentationLibraryMetrics", "metrics", [&cx](Id entity, const json& m) {
    const json* name_j = member(m, "name");
    if (!name_j || !name_j->is_string() || name_j->get_ref<const std::string&>().empty()) {
      cx.reject("missing_field", "metric without a name", json_point_count(m));
      return;
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
      cx.reject("bad_otlp", cat("metric '", name, "' has no gauge, sum, histogram, exponentialHistogram or summary"));
      return;
    }
    const json* points = member(*data, "dataPoints");
    if (!points || !points->is_array()) return;
    const bool number = std::string_view(type) == "gauge" || std::string_view(type) == "sum";
    for (const auto& dp : *points) {
      const json* flags = member(dp, "flags");
      TimeUs t = 0;
      if (!cx.begin_point(entity, name, json_time(dp, "timeUnixNano"), flags ? json_int(*flags).value_or(0) : 0, t))
        continue;
      const std::string attrs = attributes_suffix(cx.with_container(json_pairs(member(dp, "attributes"))));
      if (!number) {
        cx.distribution(t, entity, name, attrs, json_distribution(dp));
        continue;
      }
      std::optional<double> v;
      if (const json* d = member(dp, "asDouble"))
        v = json_double(*d);
      else if (const json* i = member(dp, "asInt")) {
        if (auto n = json_int(*i)) v = static_cast<double>(*n);
      } else
        v = 0.0;  // proto3 JSON omits zero values
      cx.point(t, entity, name + attrs, v);
    }
  });
}

// An OTLP enum field, as a number or as protojson's enum name (`names`, by value); absent or unknown reads 0.
template <std::size_t N>
std::int64_t json_enum(const json* field, const char* const (&names)[N]) {
  if (!field) return 0;
  if (!field->is_string()) return json_int(*field).value_or(0);
  const std::string& v = field->get_ref<const std::string&>();
  for (std::size_t i = 0; i < N; ++i)
    if (v == names[i]) return static_cast<std::int64_t>(i);
  return parse_int(v).value_or(0);
}

const char* const kStatusCodeNames[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

std::int64_t json_status(const json& span) {
  const json* st = member(span, "status");
  return json_enum(st ? member(*st, "code") : nullptr, kStatusCodeNames);
}

std::string json_text(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// A trace or span id as one spelling: OTLP/JSON writes hex (case-insensitive: lower-cased here), protojson
// writes the bytes in base64 (8 or 16 bytes: turned into hex); anything else is kept as written. Then the
// same span joins across exporters, encodings and log records.
std::string json_id(const json& obj, const char* key) {
  std::string id = json_text(obj, key);
  const bool hex = id.size() % 2 == 0 && std::all_of(id.begin(), id.end(), [](char c) { return hex_digit(c) >= 0; });
  if (hex) {
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return id;
  }
  if (id.size() >= 11 && id.size() <= 24) {
    const auto bytes = bytes_of_base64(id);
    if (bytes && (bytes->size() == 8 || bytes->size() == 16)) return hex_of(*bytes);
  }
  return id;
}

std::int64_t json_span_kind(const json& span) { return json_enum(member(span, "kind"), kSpanKindNames); }

void json_spans(Context& cx, const json& block) {
  json_each(cx, block, "scopeSpans", "instrumentationLibrarySpans", "spans", [&cx](Id entity, const json& sp) {
    Span out;
    out.trace_id = json_id(sp, "traceId");
    out.span_id = json_id(sp, "spanId");
    if (!cx.begin_span(entity, out, json_time(sp, "startTimeUnixNano"), json_time(sp, "endTimeUnixNano"))) return;
    cx.set_parent(out, json_id(sp, "parentSpanId"));
    const json* attrs = member(sp, "attributes");
    cx.end_span(std::move(out), json_text(sp, "name"), json_status(sp), json_span_kind(sp),
                [attrs](const char* key) { return json_attribute(attrs, key); });
  });
}

void json_logs(Context& cx, const json& block) {
  json_each(cx, block, "scopeLogs", "instrumentationLibraryLogs", "logRecords", [&cx](Id entity, const json& lr) {
    LogRecord out;
    if (!cx.begin_log(entity, out, json_time(lr, "timeUnixNano"), json_time(lr, "observedTimeUnixNano"))) return;
    const json* sn = member(lr, "severityNumber");
    const std::int64_t number = sn ? json_int(*sn).value_or(0) : 0;
    out.level = severity_level(json_text(lr, "severityText"), number,
                               sn && sn->is_string() ? std::string_view(sn->get_ref<const std::string&>()) : "");
    if (const json* body = member(lr, "body")) {
      out.message = any_value_text(*body);
      if (const json* kvl = member(*body, "kvlistValue")) apply_structured_body(json_pairs(member(*kvl, "values")), out);
    }
    cx.end_log(std::move(out), json_id(lr, "traceId"), json_id(lr, "spanId"));
  });
}

using JsonWalk = void (*)(Context&, const json&);
const JsonWalk kJsonWalks[] = {json_spans, json_metrics, json_logs};  // by OtlpSignal

// One signal's resource array of a request: each resource decoded.
void json_signal(Context& cx, const json& array, OtlpSignal signal) {
  for (const auto& r : array) kJsonWalks[static_cast<int>(signal)](cx, r);
}

// ------------------------------------------------------------ protobuf walk

Id pb_entity(Context& cx, const pbr::Resource& resource) {
  const PbAttrs& attrs = resource.attributes();
  return cx.entity([&attrs](const char* key) { return pb_attribute(attrs, key); });
}

template <typename Points, typename Emit>
void pb_points(Context& cx, Id entity, const std::string& name, const Points& points, Emit emit) {
  for (const auto& dp : points) {
    TimeUs t = 0;
    if (!cx.begin_point(entity, name, pb_time(dp.time_unix_nano()), dp.flags(), t)) continue;
    emit(dp, t, attributes_suffix(cx.with_container(pb_pairs(dp.attributes()))));
  }
}

void pb_metric(Context& cx, Id entity, const pbm::Metric& m) {
  const std::string& name = m.name();
  auto number = [&](const pbm::NumberDataPoint& dp, TimeUs t, const std::string& attrs) {
    double v = 0;
    if (dp.value_case() == pbm::NumberDataPoint::kAsDouble)
      v = dp.as_double();
    else if (dp.value_case() == pbm::NumberDataPoint::kAsInt)
      v = static_cast<double>(dp.as_int());
    cx.point(t, entity, name + attrs, v);
  };
  auto spread = [&](const auto& dp, TimeUs t, const std::string& attrs) {
    cx.distribution(t, entity, name, attrs, pb_distribution(dp));
  };
  switch (m.data_case()) {
    case pbm::Metric::kGauge:
      return pb_points(cx, entity, name, m.gauge().data_points(), number);
    case pbm::Metric::kSum:
      return pb_points(cx, entity, name, m.sum().data_points(), number);
    case pbm::Metric::kHistogram:
      return pb_points(cx, entity, name, m.histogram().data_points(), spread);
    case pbm::Metric::kExponentialHistogram:
      return pb_points(cx, entity, name, m.exponential_histogram().data_points(), spread);
    case pbm::Metric::kSummary:
      return pb_points(cx, entity, name, m.summary().data_points(), spread);
    case pbm::Metric::DATA_NOT_SET:
      break;
  }
  cx.reject("bad_otlp", cat("metric '", name, "' has no gauge, sum, histogram, exponentialHistogram or summary"));
}

std::int64_t pb_point_count(const pbm::Metric& m) {
  const int n = m.gauge().data_points_size() + m.sum().data_points_size() + m.histogram().data_points_size() +
                m.exponential_histogram().data_points_size() + m.summary().data_points_size();
  return std::max(1, n);
}

// Calls fn(entity, item) for each item of each scope of a resource block
// (`items` picks a scope's list); the entity is resolved once, and only when
// the block has scopes (the JSON form has no scope array otherwise).
template <typename Scopes, typename Items, typename Fn>
void pb_each(Context& cx, const pbr::Resource& resource, const Scopes& scopes, Items items, Fn fn) {
  if (scopes.empty()) return;
  const Id entity = pb_entity(cx, resource);
  for (const auto& s : scopes)
    for (const auto& item : items(s)) fn(entity, item);
}

void pb_resource(Context& cx, const pbm::ResourceMetrics& block) {
  pb_each(
      cx, block.resource(), block.scope_metrics(),
      [](const pbm::ScopeMetrics& s) -> const auto& { return s.metrics(); },
      [&cx](Id entity, const pbm::Metric& m) {
        if (m.name().empty())
          cx.reject("missing_field", "metric without a name", pb_point_count(m));
        else
          pb_metric(cx, entity, m);
      });
}

void pb_resource(Context& cx, const pbt::ResourceSpans& block) {
  pb_each(
      cx, block.resource(), block.scope_spans(), [](const pbt::ScopeSpans& s) -> const auto& { return s.spans(); },
      [&cx](Id entity, const pbt::Span& sp) {
        Span out;
        out.trace_id = hex_of(sp.trace_id());
        out.span_id = hex_of(sp.span_id());
        if (!cx.begin_span(entity, out, pb_time(sp.start_time_unix_nano()), pb_time(sp.end_time_unix_nano()))) return;
        cx.set_parent(out, hex_of(sp.parent_span_id()));
        const PbAttrs& attrs = sp.attributes();
        cx.end_span(std::move(out), sp.name(), sp.status().code(), sp.kind(),
                    [&attrs](const char* key) { return pb_attribute(attrs, key); });
      });
}

void pb_resource(Context& cx, const pbl::ResourceLogs& block) {
  pb_each(
      cx, block.resource(), block.scope_logs(), [](const pbl::ScopeLogs& s) -> const auto& { return s.log_records(); },
      [&cx](Id entity, const pbl::LogRecord& lr) {
        LogRecord out;
        if (!cx.begin_log(entity, out, pb_time(lr.time_unix_nano()), pb_time(lr.observed_time_unix_nano()))) return;
        out.level = severity_level(lr.severity_text(), lr.severity_number());
        if (lr.has_body()) {
          out.message = any_value_text(lr.body());
          if (lr.body().has_kvlist_value()) apply_structured_body(pb_pairs(lr.body().kvlist_value().values()), out);
        }
        cx.end_log(std::move(out), hex_of(lr.trace_id()), hex_of(lr.span_id()));
      });
}

const char* const kRequestNames[] = {"ExportTraceServiceRequest", "ExportMetricsServiceRequest",
                                     "ExportLogsServiceRequest"};  // by OtlpSignal

template <typename Request, typename Resources>
void pb_request(Context& cx, std::string_view body, OtlpSignal signal, Resources (Request::*resources)() const) {
  if (body.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    cx.fail("bad_protobuf", cat("body of ", body.size(), " bytes is larger than protobuf allows (2 GiB)"));
    return;
  }
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<Request>(&arena);
  bool parsed = false;
  {
    // protobuf logs each string that is not UTF-8 to stderr; the refusal is counted here instead.
    google::protobuf::LogSilencer quiet;
    parsed = request->ParseFromArray(body.data(), static_cast<int>(body.size()));
  }
  if (!parsed) {
    cx.fail("bad_protobuf", cat("not a protobuf ", kRequestNames[static_cast<int>(signal)], " (", body.size(),
                                " bytes: malformed, truncated, a string that is not UTF-8, or another message)"));
    return;
  }
  for (const auto& r : (request->*resources)()) pb_resource(cx, r);
}

// ------------------------------------------------------------ encoding

void add_string_attribute(PbAttrs* attrs, const char* key, const std::string& value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(utf8_clean(value));
}

void add_int_attribute(PbAttrs* attrs, const char* key, std::int64_t value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

// Resource attributes of an entity (see otlp_decode.h).
void fill_resource(pbr::Resource* resource, const Catalog& c, Id e) {
  PbAttrs* attrs = resource->mutable_attributes();
  if (e >= c.entities.size()) return;
  const std::string& name = c.entities.name(e);
  switch (c.entity_info[e].kind) {
    case EntityKind::kService:
      return add_string_attribute(attrs, "service.name", name);
    case EntityKind::kNode:
      return add_string_attribute(attrs, "host.name", name);
    case EntityKind::kInstance: {
      // "<service>/<service.instance.id>", as decoded.
      const std::string& service = c.entities.name(c.service_of(e));
      if (starts_with(name, service + "/") && name.size() > service.size() + 1) {
        add_string_attribute(attrs, "service.name", service);
        add_string_attribute(attrs, "service.instance.id", name.substr(service.size() + 1));
        const Id node = c.entity_info[e].node;
        if (node != kNoId) add_string_attribute(attrs, "host.name", c.entities.name(node));
        return;
      }
      [[fallthrough]];
    }
    case EntityKind::kPod: {
      add_string_attribute(attrs, "k8s.pod.name", name);
      add_string_attribute(attrs, "service.name", c.entities.name(c.service_of(e)));
      const Id node = c.entity_info[e].node;
      if (node != kNoId) add_string_attribute(attrs, "k8s.node.name", c.entities.name(node));
      return;
    }
  }
}

// Records of type T grouped by entity, entities in order of first appearance.
template <typename T>
std::vector<std::pair<Id, std::vector<const T*>>> by_entity(const std::vector<Record>& records) {
  std::vector<std::pair<Id, std::vector<const T*>>> groups;
  std::unordered_map<Id, size_t> index;
  for (const auto& r : records) {
    const T* x = std::get_if<T>(&r);
    if (!x) continue;
    auto [it, fresh] = index.try_emplace(x->entity, groups.size());
    if (fresh) groups.emplace_back(x->entity, std::vector<const T*>{});
    groups[it->second].second.push_back(x);
  }
  return groups;
}

// One resource block per entity, each with one scope named "rslicer"
// (`add_scope(block)` adds it); `add(scope, record)` adds each record of the
// entity, in order, to the scope.
template <typename T, typename Blocks, typename AddScope, typename Add>
void encode_groups(const std::vector<Record>& records, const Catalog& c, Blocks* blocks, AddScope add_scope, Add add) {
  for (const auto& [entity, list] : by_entity<T>(records)) {
    auto* block = blocks->Add();
    fill_resource(block->mutable_resource(), c, entity);
    auto* scope = add_scope(block);
    scope->mutable_scope()->set_name("rslicer");
    for (const T* r : list) add(scope, *r);
  }
}

std::uint64_t ns_of(TimeUs t) { return static_cast<std::uint64_t>(t) * 1000; }

void encode_metrics(const std::vector<Record>& records, const Catalog& c, pbcm::ExportMetricsServiceRequest& req) {
  std::unordered_map<Id, pbm::Gauge*> gauges;  // of the current scope: one metric per KPI
  const pbm::ScopeMetrics* current = nullptr;
  encode_groups<MetricPoint>(
      records, c, req.mutable_resource_metrics(), [](pbm::ResourceMetrics* b) { return b->add_scope_metrics(); },
      [&](pbm::ScopeMetrics* scope, const MetricPoint& p) {
        if (scope != current) gauges.clear(), current = scope;
        pbm::Gauge*& g = gauges[p.kpi];
        if (!g) {
          auto* m = scope->add_metrics();
          m->set_name(p.kpi < c.kpis.size() ? utf8_clean(c.kpis.name(p.kpi)) : std::string());
          g = m->mutable_gauge();
        }
        auto* dp = g->add_data_points();
        dp->set_time_unix_nano(ns_of(p.time));
        dp->set_as_double(p.value);
      });
}

void encode_spans(const std::vector<Record>& records, const Catalog& c, pbct::ExportTraceServiceRequest& req) {
  encode_groups<Span>(
      records, c, req.mutable_resource_spans(), [](pbt::ResourceSpans* b) { return b->add_scope_spans(); },
      [&](pbt::ScopeSpans* scope, const Span& s) {
        auto* sp = scope->add_spans();
        sp->set_trace_id(id_bytes(s.trace_id));
        sp->set_span_id(id_bytes(s.span_id));
        if (!s.parent_id.empty()) sp->set_parent_span_id(id_bytes(s.parent_id));
        sp->set_name(s.operation < c.operations.size() ? utf8_clean(c.operations.name(s.operation)) : std::string());
        sp->set_start_time_unix_nano(ns_of(s.start));
        sp->set_end_time_unix_nano(ns_of(s.start + s.duration_us));
        if (s.peer != kNoId && s.peer < c.entities.size()) {
          sp->set_kind(pbt::Span::SPAN_KIND_CLIENT);
          add_string_attribute(sp->mutable_attributes(), "peer.service", c.entities.name(s.peer));
        } else {
          sp->set_kind(pbt::Span::SPAN_KIND_SERVER);
        }
        if (s.status_code != 0)
          add_int_attribute(sp->mutable_attributes(),
                            s.status_code >= 100 ? "http.response.status_code" : "rpc.grpc.status_code", s.status_code);
        // ERROR for a failed span; OK where the status code alone would say error; else unset.
        if (s.error)
          sp->mutable_status()->set_code(pbt::Status::STATUS_CODE_ERROR);
        else if (ingest_detail::status_implies_error(s.status_code))
          sp->mutable_status()->set_code(pbt::Status::STATUS_CODE_OK);
      });
}

void encode_logs(const std::vector<Record>& records, const Catalog& c, pbcl::ExportLogsServiceRequest& req) {
  encode_groups<LogRecord>(
      records, c, req.mutable_resource_logs(), [](pbl::ResourceLogs* b) { return b->add_scope_logs(); },
      [&](pbl::ScopeLogs* scope, const LogRecord& l) {
        auto* lr = scope->add_log_records();
        lr->set_time_unix_nano(ns_of(l.time));
        if (l.level != LogLevel::kUnknown) {
          // The first step of the level's four (INFO = 9).
          lr->set_severity_number(static_cast<pbl::SeverityNumber>(1 + 4 * (static_cast<int>(l.level) - 1)));
          lr->set_severity_text(log_level_name(l.level));
        }
        lr->mutable_body()->set_string_value(utf8_clean(l.message));
        if (!l.trace_id.empty()) lr->set_trace_id(id_bytes(l.trace_id));
        if (!l.span_id.empty()) lr->set_span_id(id_bytes(l.span_id));
      });
}

// The request message of `signal` for `records`; `use` gets it.
template <typename Use>
auto with_request(const std::vector<Record>& records, const Catalog& c, OtlpSignal signal, Use use) {
  switch (signal) {
    case OtlpSignal::kMetrics: {
      pbcm::ExportMetricsServiceRequest req;
      encode_metrics(records, c, req);
      return use(req);
    }
    case OtlpSignal::kLogs: {
      pbcl::ExportLogsServiceRequest req;
      encode_logs(records, c, req);
      return use(req);
    }
    case OtlpSignal::kTraces:
      break;
  }
  pbct::ExportTraceServiceRequest req;
  encode_spans(records, c, req);
  return use(req);
}

// OTLP/JSON writes trace and span ids in hex where proto3 JSON has base64.
void ids_to_hex(json& j) {
  if (j.is_array()) {
    for (auto& e : j) ids_to_hex(e);
    return;
  }
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (it->is_string() && (k == "traceId" || k == "spanId" || k == "parentSpanId")) {
      *it = hex_of(bytes_of_base64(it->get_ref<const std::string&>()).value_or(""));
    } else {
      ids_to_hex(*it);
    }
  }
}

std::string otlp_json_of(const google::protobuf::Message& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions opt;
  opt.always_print_enums_as_ints = true;  // OTLP/JSON: enums as integers
  const auto status = google::protobuf::util::MessageToJsonString(m, &text, opt);
  if (!status.ok()) throw InvalidInput(cat("OTLP/JSON encoding failed: ", status.ToString()));
  return text;
}

}  // namespace

const char* otlp_signal_name(OtlpSignal s) {
  static const char* const kNames[] = {"traces", "metrics", "logs"};  // by OtlpSignal
  const auto i = static_cast<size_t>(s);
  return i < 3 ? kNames[i] : "?";
}

OtlpDecoder::OtlpDecoder(Catalog& catalog, ParseStats& stats, ReadCounts& counts)
    : catalog_(catalog), stats_(stats), counts_(counts) {}

OtlpDecodeResult OtlpDecoder::decode_json(std::string_view body, OtlpSignal signal, std::vector<Record>& out,
                                          const std::string& origin, std::int64_t line) {
  Context cx(catalog_, stats_, counts_, out, origin, line);
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    std::string why = e.what();
    if (const size_t p = why.find("] "); why.rfind("[json.exception.", 0) == 0 && p != std::string::npos)
      why.erase(0, p + 2);  // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    cx.fail("bad_json", cat("invalid JSON: ", why));
    return cx.finish();
  }
  const int want = static_cast<int>(signal);
  if (!j.is_object()) {
    cx.fail("bad_json", cat("not a JSON object: an ", kRequestNames[want], " is {\"", kJsonArrays[want], "\": [...]}"));
    return cx.finish();
  }
  for (int s = 0; s < 3; ++s) {
    if (s != want && member(j, kJsonArrays[s])) {
      cx.fail("wrong_signal",
              cat("body holds ", kJsonArrays[s], ", not ", kJsonArrays[want], ": send it to /v1/",
                  otlp_signal_name(static_cast<OtlpSignal>(s)), ", not /v1/", otlp_signal_name(signal)));
      return cx.finish();
    }
  }
  const json* array = member(j, kJsonArrays[want]);
  if (array && !array->is_array()) {
    cx.fail("bad_otlp", cat(kJsonArrays[want], " is not an array"));
    return cx.finish();
  }
  if (array) json_signal(cx, *array, signal);  // no array: an empty request
  return cx.finish();
}

namespace {

// One request object of any signal: the arrays present and wanted are decoded.
void json_any_request(Context& cx, const json& j, bool metrics, bool traces, bool logs) {
  const json* rm = member(j, "resourceMetrics");
  const json* rs = member(j, "resourceSpans");
  const json* rl = member(j, "resourceLogs");
  if (!rm && !rs && !rl) {
    cx.fail("unknown_object", "holds none of resourceMetrics, resourceSpans, resourceLogs");
    return;
  }
  const std::pair<const json*, bool> arrays[] = {{rm, metrics}, {rs, traces}, {rl, logs}};
  const OtlpSignal signals[] = {OtlpSignal::kMetrics, OtlpSignal::kTraces, OtlpSignal::kLogs};  // file order
  for (int i = 0; i < 3; ++i) {
    const auto [array, wanted] = arrays[i];
    if (!array || !wanted) continue;
    if (!array->is_array())
      cx.reject("bad_otlp", cat(kJsonArrays[static_cast<int>(signals[i])], " is not an array"));
    else
      json_signal(cx, *array, signals[i]);
  }
}

// A JSON value of an OTLP file: a request object, or an array of them.
void json_any_value(Context& cx, const json& j, bool metrics, bool traces, bool logs) {
  if (j.is_object()) {
    json_any_request(cx, j, metrics, traces, logs);
  } else if (j.is_array()) {
    for (const json& e : j) {
      if (e.is_object()) json_any_request(cx, e, metrics, traces, logs);
      else cx.fail("bad_json", "an array element is not a JSON object");
    }
  } else {
    cx.fail("bad_json", "not a JSON object or array");
  }
}

}  // namespace

OtlpDecodeResult OtlpDecoder::decode_json_any(std::string_view body, std::vector<Record>& out,
                                              const std::string& origin, std::int64_t line, bool metrics, bool traces,
                                              bool logs) {
  Context cx(catalog_, stats_, counts_, out, origin, line);
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded()) {
    json_any_value(cx, j, metrics, traces, logs);
    return cx.finish();
  }
  // Not one JSON value: several concatenated ones (pretty-printed requests
  // one after another), each read in turn; the first that does not parse
  // ends the body.
  std::istringstream in{std::string(body)};
  int values = 0;
  for (;;) {
    in >> std::ws;
    if (in.peek() == std::char_traits<char>::eof()) break;
    try {
      in >> j;
    } catch (const json::exception&) {
      if (values == 0) {
        cx.fail("bad_json", cat("not a JSON object or array: '", body.substr(0, 60), body.size() > 60 ? "...'" : "'"));
      } else {
        cx.fail("bad_json", cat("invalid JSON after ", values, " request(s) (truncated or corrupt)"));
      }
      break;
    }
    ++values;
    json_any_value(cx, j, metrics, traces, logs);
  }
  return cx.finish();
}

OtlpDecodeResult OtlpDecoder::decode_protobuf(std::string_view body, OtlpSignal signal, std::vector<Record>& out,
                                              const std::string& origin) {
  Context cx(catalog_, stats_, counts_, out, origin, 0);
  switch (signal) {
    case OtlpSignal::kTraces:
      pb_request(cx, body, signal, &pbct::ExportTraceServiceRequest::resource_spans);
      break;
    case OtlpSignal::kMetrics:
      pb_request(cx, body, signal, &pbcm::ExportMetricsServiceRequest::resource_metrics);
      break;
    case OtlpSignal::kLogs:
      pb_request(cx, body, signal, &pbcl::ExportLogsServiceRequest::resource_logs);
      break;
  }
  return cx.finish();
}

std::string encode_otlp_protobuf(const std::vector<Record>& records, const Catalog& catalog, OtlpSignal signal) {
  return with_request(records, catalog, signal,
                      [](const google::protobuf::Message& m) { return m.SerializeAsString(); });
}

std::string encode_otlp_json(const std::vector<Record>& records, const Catalog& catalog, OtlpSignal signal) {
  return with_request(records, catalog, signal, [signal](const google::protobuf::Message& m) {
    if (signal == OtlpSignal::kMetrics) return otlp_json_of(m);  // no ids to rewrite
    json j = json::parse(otlp_json_of(m));
    ids_to_hex(j);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  });
}

std::string encode_otlp_response(OtlpSignal signal, std::int64_t rejected, const std::string& message, bool protobuf) {
  const bool partial = rejected > 0 || !message.empty();
  auto body = [&](auto& response) {
    if (partial) {
      auto* p = response.mutable_partial_success();
      p->set_error_message(utf8_clean(message));
      if constexpr (std::is_same_v<std::decay_t<decltype(response)>, pbct::ExportTraceServiceResponse>)
        p->set_rejected_spans(rejected);
      else if constexpr (std::is_same_v<std::decay_t<decltype(response)>, pbcm::ExportMetricsServiceResponse>)
        p->set_rejected_data_points(rejected);
      else
        p->set_rejected_log_records(rejected);
    }
    return protobuf ? response.SerializeAsString() : otlp_json_of(response);
  };
  switch (signal) {
    case OtlpSignal::kMetrics: {
      pbcm::ExportMetricsServiceResponse r;
      return body(r);
    }
    case OtlpSignal::kLogs: {
      pbcl::ExportLogsServiceResponse r;
      return body(r);
    }
    case OtlpSignal::kTraces:
      break;
  }
  pbct::ExportTraceServiceResponse r;
  return body(r);
}

}  // namespace rslicer
