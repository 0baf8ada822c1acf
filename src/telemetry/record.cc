#include "telemetry/record.h"

#include "core/hash.h"
#include "core/strings.h"

namespace rslicer {

size_t StringTable::ViewHash::operator()(std::string_view s) const { return hash_bytes(s); }

StringTable::StringTable(const StringTable& other) {
  for (const auto& n : other.names_) intern(n);
}

StringTable& StringTable::operator=(const StringTable& other) {
  if (this != &other) {
    names_.clear();
    keys_.clear();
    index_.clear();
    for (const auto& n : other.names_) intern(n);
  }
  return *this;
}

Id StringTable::intern(std::string_view s) {
  auto it = index_.find(s);
  if (it != index_.end()) return it->second;
  const Id id = static_cast<Id>(names_.size());
  names_.emplace_back(s);
  keys_.emplace_back(s);
  index_.emplace(keys_.back(), id);
  return id;
}

Id StringTable::find(std::string_view s) const {
  auto it = index_.find(s);
  return it == index_.end() ? kNoId : it->second;
}

const char* entity_kind_name(EntityKind k) {
  switch (k) {
    case EntityKind::kPod: return "pod";
    case EntityKind::kNode: return "node";
    case EntityKind::kService: return "service";
    case EntityKind::kInstance: return "instance";
  }
  return "?";
}

Id Catalog::entity(std::string_view name, EntityKind kind, std::string_view service) {
  const size_t before = entities.size();
  const Id id = entities.intern(name);
  if (entities.size() > before) {
    entity_info.push_back(EntityInfo{kind, kNoId, kNoId});
    if (kind == EntityKind::kPod || kind == EntityKind::kInstance) {
      const std::string svc = service.empty() ? service_of_pod(name) : std::string(service);
      if (svc != name) {
        const Id sid = entity(svc, EntityKind::kService);
        entity_info[id].service = sid;
      }
    }
  }
  return id;
}

Id Catalog::service_of(Id e) const {
  if (e >= entity_info.size()) return e;
  const Id s = entity_info[e].service;
  return s == kNoId ? e : s;
}

const char* modality_name(Modality m) {
  switch (m) {
    case Modality::kMetrics: return "metrics";
    case Modality::kTraces: return "traces";
    case Modality::kLogs: return "logs";
  }
  return "?";
}

TimeUs record_time(const Record& r) {
  switch (r.index()) {
    case 0: return std::get<MetricPoint>(r).time;
    case 1: return std::get<Span>(r).start;
    default: return std::get<LogRecord>(r).time;
  }
}

Modality record_modality(const Record& r) { return static_cast<Modality>(r.index()); }

}  // namespace rslicer
