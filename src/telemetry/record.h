// The telemetry model shared by every module: metric points, spans, log
// records and labelled fault events, all on one clock (TimeUs, UTC).
// Names (entities, KPIs, operations) are interned into a Catalog so records
// stay small; an Id is an index into the matching StringTable.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/id_string.h"
#include "core/log_level.h"
#include "core/time.h"

namespace rslicer {

using Id = std::uint32_t;
constexpr Id kNoId = 0xffffffffu;

// Append-only string <-> id table. Ids are dense and stable for one read.
// Lookups take a string_view and allocate nothing (readers intern a pod and
// an operation name per span).
class StringTable {
 public:
  StringTable() = default;
  StringTable(const StringTable& other);
  StringTable& operator=(const StringTable& other);
  StringTable(StringTable&&) noexcept = default;  // the deque keeps its elements' addresses
  StringTable& operator=(StringTable&&) noexcept = default;

  Id intern(std::string_view s);
  Id find(std::string_view s) const;  // kNoId when absent
  const std::string& name(Id id) const { return names_[id]; }
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  struct ViewHash {
    size_t operator()(std::string_view s) const;
  };
  std::vector<std::string> names_;
  std::deque<std::string> keys_;  // stable storage the index's views point into
  std::unordered_map<std::string_view, Id, ViewHash> index_;
};

enum class EntityKind : std::uint8_t { kPod, kNode, kService, kInstance };
const char* entity_kind_name(EntityKind k);

struct EntityInfo {
  EntityKind kind = EntityKind::kPod;
  Id service = kNoId;  // entity id of the owning service, for pods and instances
  Id node = kNoId;     // entity id of the hosting node, when known
};

// Interned names of one dataset read.
struct Catalog {
  StringTable entities;             // pod, node, service and instance names
  std::vector<EntityInfo> entity_info;  // parallel to entities
  StringTable kpis;                 // metric names
  StringTable operations;           // span operation names

  // Interns an entity; for pods, also interns and links its service
  // (derived from the pod name unless `service` is given).
  Id entity(std::string_view name, EntityKind kind, std::string_view service = {});
  Id service_of(Id entity) const;  // the entity itself when it is a service or has none
};

enum class Modality : std::uint8_t { kMetrics = 0, kTraces = 1, kLogs = 2 };
constexpr int kNumModalities = 3;
const char* modality_name(Modality m);

struct MetricPoint {
  TimeUs time = 0;
  Id entity = kNoId;
  Id kpi = kNoId;
  double value = 0;  // finite; NaN/inf are counted by the reader, not stored
};

struct Span {
  TimeUs start = 0;
  std::int64_t duration_us = 0;
  Id entity = kNoId;     // pod (or service) that executed the span
  Id operation = kNoId;
  IdString trace_id;
  IdString span_id;
  IdString parent_id;  // empty for a root span
  std::int32_t status_code = 0;  // protocol status when known (HTTP code, OTLP status), else 0
  bool error = false;            // the span failed (status code >= 500 or OTLP ERROR)
  // A client span's callee as the span's own attributes name it (OTLP peer.service, server.address),
  // kNoId when unnamed: how a call into a service or database without spans of its own is attributed.
  Id peer = kNoId;
};

struct LogRecord {
  TimeUs time = 0;
  Id entity = kNoId;
  IdString trace_id;  // empty when the line is not tied to a span
  IdString span_id;
  LogLevel level = LogLevel::kUnknown;
  std::string message;   // the log text without transport wrapping (Docker JSON, timestamps)
  Id template_id = kNoId;  // set by the template miner
};

// A labelled, injected fault. `level` says what root_cause names:
// "pod", "service" or "node".
struct FaultEvent {
  TimeUs start = 0;
  TimeUs end = 0;  // exclusive; readers fill start + configured duration when the label has none
  std::string level;
  std::string root_cause;  // entity name as it appears in the telemetry
  std::string fault_type;
  std::string source;      // "file:line" or file of the label, for reports
};

// One record of any modality, as produced by a RecordStream.
using Record = std::variant<MetricPoint, Span, LogRecord>;
TimeUs record_time(const Record& r);
inline TimeUs record_time(const MetricPoint& m) { return m.time; }
inline TimeUs record_time(const Span& s) { return s.start; }
inline TimeUs record_time(const LogRecord& l) { return l.time; }
Modality record_modality(const Record& r);

// Sorts records (of one type, or Records) by time, stably, unless they are in
// order already: a sort of (time, index) keys, then one pass of moves
// (cheaper than moving records log n times).
template <typename T>
void sort_by_time(std::vector<T>& v) {
  auto earlier = [](const T& a, const T& b) { return record_time(a) < record_time(b); };
  if (std::is_sorted(v.begin(), v.end(), earlier)) return;
  std::vector<std::pair<TimeUs, std::uint32_t>> keys(v.size());
  for (size_t i = 0; i < v.size(); ++i) keys[i] = {record_time(v[i]), static_cast<std::uint32_t>(i)};
  std::sort(keys.begin(), keys.end());
  std::vector<T> out;
  out.reserve(v.size());
  for (const auto& k : keys) out.push_back(std::move(v[k.second]));
  v.swap(out);
}

}  // namespace rslicer
