#include "ingest/wide_csv.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/line_reader.h"
#include "core/strings.h"
#include "ingest/aiops22_shared.h"

namespace rslicer::ingest_detail {

namespace {

std::optional<EntityKind> parse_kind(std::string_view s) {
  const std::string l = to_lower(trim(s));
  if (l == "pod" || l == "container") return EntityKind::kPod;
  if (l == "service") return EntityKind::kService;
  if (l == "node" || l == "host") return EntityKind::kNode;
  if (l == "instance") return EntityKind::kInstance;
  return std::nullopt;
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

// Points of one wide row: one per finite cell.
class WideStream : public CsvRowStream {
 public:
  WideStream(const WideFile& f, CsvSink sink, std::int64_t row_limit)
      : CsvRowStream(f.path, f.count, sink, row_limit), f_(f) {
    ids_.reserve(f_.kpis.size());
    for (const auto& k : f_.kpis)
      ids_.emplace_back(sink_.catalog->entity(k.entity, k.kind), sink_.catalog->kpis.intern(k.kpi));
  }

 protected:
  bool row(Record& out) override {
    TimeUs t = 0;
    if (!parse_time(f_.time_col, "time", t)) return false;
    ++sink_.counts->metric_rows;
    bool first = true;
    for (size_t i = 0; i < f_.kpis.size(); ++i) {
      const std::string_view s = trim(field(f_.kpis[i].col));
      const auto d = s.empty() ? std::optional<double>(std::numeric_limits<double>::quiet_NaN()) : parse_double(s);
      if (!d) {
        reject("bad_number", cat("column '", f_.kpis[i].entity, "_", f_.kpis[i].kpi, "': '", s, "' is not a number"));
        continue;
      }
      if (!std::isfinite(*d)) {
        ++sink_.counts->metric_non_finite;
        continue;
      }
      const MetricPoint p{t, ids_[i].first, ids_[i].second, *d};
      ++sink_.counts->metric_points;
      if (first) {
        out = p;
        first = false;
      } else {
        pending_.push_back(p);
      }
    }
    return !first;
  }

 private:
  WideFile f_;
  std::vector<std::pair<Id, Id>> ids_;
};

}  // namespace

CsvRowStream::CsvRowStream(std::string path, size_t field_count, CsvSink sink, std::int64_t row_limit)
    : path_(std::move(path)), sink_(sink), count_(field_count), row_limit_(row_limit) {
  try {
    csv_ = std::make_unique<CsvReader>(path_);
    std::vector<std::string_view> header;
    if (!csv_->next(header)) finish();
  } catch (const IoError& e) {
    csv_.reset();
    done_ = true;
    sink_.stats->reject(path_, 0, "unreadable_file", e.what());
  }
}

bool CsvRowStream::next(Record& out) {
  for (;;) {
    if (!pending_.empty()) {
      out = std::move(pending_.front());
      pending_.pop_front();
      return true;
    }
    if (!next_well_formed_row()) return false;
    if (row(out)) return true;
  }
}

void CsvRowStream::reject(const char* category, const std::string& detail) {
  sink_.stats->reject(path_, csv_ ? csv_->line_number() : 0, category, detail);
}

void CsvRowStream::finish() {
  if (done_) return;
  done_ = true;
  if (sink_.account_file && csv_) {
    ++sink_.stats->files_read;
    sink_.stats->bytes_read += csv_->bytes_read();
  }
}

bool CsvRowStream::next_well_formed_row() {
  while (!done_) {
    if (row_limit_ >= 0 && rows_ >= row_limit_) {
      done_ = true;
      break;
    }
    try {
      if (!csv_->next(fields_)) {
        finish();
        break;
      }
    } catch (const IoError& e) {
      sink_.stats->reject(path_, csv_->line_number() + 1, "unreadable_file", e.what());
      finish();
      break;
    }
    ++rows_;
    if (fields_.size() == 1 && trim(fields_[0]).empty()) continue;  // blank line
    if (csv_->unterminated()) {
      reject("unterminated_quote", "quoted field not closed");
      continue;
    }
    if (fields_.size() != count_) {
      reject("field_count", cat("expected ", count_, " fields as in the header, got ", fields_.size()));
      continue;
    }
    return true;
  }
  return false;
}

bool CsvRowStream::parse_time(int column, const char* name, TimeUs& out) {
  const std::string_view s = trim(field(column));
  const auto i = parse_int(s);
  const auto v = i ? std::optional<double>(static_cast<double>(*i)) : parse_double(s);
  if (v && std::isfinite(*v)) {
    const EpochUnit u = guess_epoch_unit(*v);
    auto [it, inserted] = units_.emplace(column, u);
    if (u != it->second) {
      reject("time_unit", cat(name, " '", s, "' looks like ", unit_name(u), " but this file's first row used ",
                              unit_name(it->second)));
      return false;
    }
    if (i) {  // exact integer arithmetic (nanosecond epochs exceed a double's precision)
      switch (u) {
        case EpochUnit::kSeconds: out = *i * kUsPerSecond; break;
        case EpochUnit::kMillis: out = *i * 1000; break;
        case EpochUnit::kMicros: out = *i; break;
        case EpochUnit::kNanos: out = *i / 1000; break;
      }
    } else {
      out = epoch_to_us(*v, u);
    }
    return true;
  }
  if (const auto t = parse_datetime(s)) {
    out = *t;
    return true;
  }
  reject("bad_time", cat(name, " '", s, "' is neither an epoch number nor a date-time"));
  return false;
}

bool read_csv_header(const std::string& path, std::vector<std::string>& out) {
  CsvReader csv(path);
  std::vector<std::string_view> fields;
  if (!csv.next(fields)) return false;
  out.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    if (i == 0 && starts_with(f, "\xEF\xBB\xBF")) f.remove_prefix(3);
    out.emplace_back(trim(f));
  }
  return !(out.size() == 1 && out[0].empty());
}

bool is_time_column_name(std::string_view name) {
  const std::string l = to_lower(trim(name));
  return l == "time" || l == "timestamp" || l == "ts" || l == "date" || l == "datetime";
}

EntityKind wide_entity_kind(std::string_view entity, std::string_view kpi) {
  const std::string lk = to_lower(kpi);
  if (starts_with(lk, "node-") || starts_with(lk, "node_")) return EntityKind::kNode;
  return kind_of_name(entity);
}

bool is_column_map_name(const std::string& path) {
  const std::string name = to_lower(std::filesystem::path(path).filename().string());
  return name == "columns.csv" || name == "columns.json";
}

ColumnMap read_column_map(const std::string& path, ParseStats& stats) {
  ColumnMap map;
  auto add = [&](std::int64_t line, std::string_view column, std::string_view entity, std::string_view kpi,
                 std::string_view kind) {
    column = trim(column);
    entity = trim(entity);
    kpi = trim(kpi);
    if (column.empty() || entity.empty() || kpi.empty()) {
      stats.reject(path, line, "bad_mapping", "a mapping needs a column, an entity and a KPI");
      return;
    }
    ColumnMapping m{std::string(entity), std::string(kpi), std::nullopt};
    if (!trim(kind).empty()) {
      m.kind = parse_kind(kind);
      if (!m.kind) {
        stats.reject(path, line, "bad_mapping", cat("kind '", trim(kind), "' is not pod, service, node or instance"));
        return;
      }
    }
    if (!map.emplace(std::string(column), std::move(m)).second)
      stats.reject(path, line, "bad_mapping", cat("column '", column, "' is mapped twice; the first mapping is kept"));
  };
  try {
    if (ends_with(to_lower(path), ".json")) {
      const std::string text = read_text_file(path);
      ++stats.files_read;
      stats.bytes_read += static_cast<std::int64_t>(text.size());
      const auto j = nlohmann::json::parse(text, nullptr, false);
      auto str = [](const nlohmann::json& o, const char* k) {
        auto it = o.find(k);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
          if (!it->is_object()) {
            stats.reject(path, 0, "bad_mapping", cat("column '", it.key(), "': not an object"));
            continue;
          }
          add(0, it.key(), str(*it, "entity"), str(*it, "kpi"), str(*it, "kind"));
        }
      } else if (j.is_array()) {
        for (const auto& o : j) {
          if (!o.is_object()) {
            stats.reject(path, 0, "bad_mapping", "an entry is not an object");
            continue;
          }
          add(0, str(o, "column"), str(o, "entity"), str(o, "kpi"), str(o, "kind"));
        }
      } else {
        stats.reject(path, 0, "bad_json", "not a JSON object or array of column mappings");
      }
      return map;
    }
    CsvReader csv(path);
    std::vector<std::string_view> fields;
    if (!csv.next(fields)) {
      stats.reject(path, 1, "bad_mapping", "empty file");
      return map;
    }
    int c_col = -1, c_entity = -1, c_kpi = -1, c_kind = -1;
    for (size_t i = 0; i < fields.size(); ++i) {
      std::string_view f = fields[i];
      if (i == 0 && starts_with(f, "\xEF\xBB\xBF")) f.remove_prefix(3);
      const std::string l = to_lower(trim(f));
      if (l == "column") c_col = static_cast<int>(i);
      else if (l == "entity") c_entity = static_cast<int>(i);
      else if (l == "kpi") c_kpi = static_cast<int>(i);
      else if (l == "kind") c_kind = static_cast<int>(i);
    }
    const size_t count = fields.size();
    if (c_col < 0 || c_entity < 0 || c_kpi < 0) {
      stats.reject(path, 1, "bad_mapping", "the header needs the columns column, entity, kpi (and optionally kind)");
      return map;
    }
    while (csv.next(fields)) {
      if (fields.size() == 1 && trim(fields[0]).empty()) continue;
      if (fields.size() != count) {
        stats.reject(path, csv.line_number(), "field_count",
                     cat("expected ", count, " fields as in the header, got ", fields.size()));
        continue;
      }
      add(csv.line_number(), fields[c_col], fields[c_entity], fields[c_kpi], c_kind >= 0 ? fields[c_kind] : "");
    }
    ++stats.files_read;
    stats.bytes_read += csv.bytes_read();
  } catch (const IoError& e) {
    stats.reject(path, 0, "unreadable_file", e.what());
  }
  return map;
}

std::optional<WideFile> wide_layout(const std::string& path, const std::vector<std::string>& header,
                                    const ColumnMap* map) {
  WideFile f;
  f.path = path;
  f.count = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& name = header[i];
    const int col = static_cast<int>(i);
    if (map) {
      auto it = map->find(name);
      if (it != map->end()) {
        const ColumnMapping& m = it->second;
        f.kpis.push_back({col, m.entity, m.kpi, m.kind ? *m.kind : wide_entity_kind(m.entity, m.kpi)});
        continue;
      }
    }
    if (is_time_column_name(name)) {
      if (f.time_col < 0) f.time_col = col;
      else f.extra_time.push_back(name);
      continue;
    }
    const size_t us = name.find('_');
    if (us == std::string::npos || us == 0 || us + 1 == name.size()) {
      f.unmapped.push_back(name);
      continue;
    }
    const std::string entity = name.substr(0, us), kpi = name.substr(us + 1);
    f.kpis.push_back({col, entity, kpi, wide_entity_kind(entity, kpi)});
  }
  if (f.time_col < 0) return std::nullopt;
  return f;
}

void report_wide_layout(const WideFile& f, ParseStats& stats) {
  for (const auto& name : f.unmapped)
    stats.reject(f.path, 1, "unmapped_column",
                 cat("column '", name,
                     "' is neither <entity>_<kpi> nor named in a mapping file (columns.csv / columns.json); "
                     "its values are not read"));
  for (const auto& name : f.extra_time)
    if (stats.notes.size() < ParseStats::max_examples)
      stats.notes.push_back(cat(f.path, ": column '", name, "' is a second time column, ignored (column ",
                                f.time_col + 1, " gives the time)"));
}

std::unique_ptr<RecordStream> open_wide_stream(const WideFile& f, CsvSink sink, std::int64_t row_limit) {
  return std::make_unique<WideStream>(f, sink, row_limit);
}

}  // namespace rslicer::ingest_detail
