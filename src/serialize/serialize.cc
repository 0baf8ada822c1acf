#include "serialize/serialize.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/errors.h"

namespace rslicer {
namespace {

constexpr double kTiny = 1e-12;

// Cuts `s` to at most `max_bytes` bytes without splitting a UTF-8 sequence;
// appends "..." when cut. Control characters become spaces so one record
// stays one line.
std::string cut_line(std::string_view s, int max_bytes) {
  std::string out;
  const size_t limit = max_bytes > 0 ? static_cast<size_t>(max_bytes) : s.size();
  size_t n = std::min(s.size(), limit);
  if (n < s.size()) {
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    out.push_back((c == '\n' || c == '\r' || c == '\t') ? ' ' : c);
  }
  if (n < s.size()) out += "...";
  return out;
}

std::string signed_number(double v, int digits) {
  std::string s = format_number(v, digits);
  if (!s.empty() && s[0] != '-' && s != "0" && s != "nan") s.insert(s.begin(), '+');
  return s;
}

const std::string& entity_name(const Catalog& catalog, Id entity) {
  static const std::string unknown = "unknown";
  return entity < catalog.entities.size() ? catalog.entities.name(entity) : unknown;
}

const std::string& service_name(const Catalog& catalog, Id entity) {
  if (entity >= catalog.entities.size()) return entity_name(catalog, entity);
  return entity_name(catalog, catalog.service_of(entity));
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Least-squares slope of value over time, per minute; 0 with fewer than two distinct times.
double slope_per_minute(const std::vector<std::pair<TimeUs, double>>& points) {
  if (points.size() < 2) return 0;
  const double t0 = static_cast<double>(points.front().first);
  double mt = 0, mv = 0;
  for (const auto& [t, v] : points) {
    mt += (static_cast<double>(t) - t0) / 60e6;
    mv += v;
  }
  mt /= static_cast<double>(points.size());
  mv /= static_cast<double>(points.size());
  double num = 0, den = 0;
  for (const auto& [t, v] : points) {
    const double dt = (static_cast<double>(t) - t0) / 60e6 - mt;
    num += dt * (v - mv);
    den += dt * dt;
  }
  return den > 0 ? num / den : 0;
}

}  // namespace

std::size_t approx_token_count(std::string_view text) {
  std::size_t single = 0, other = 0;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const bool digit = c >= '0' && c <= '9';
    const bool punct = c < 0x80 && c > ' ' && c != 0x7f && !digit && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    if (digit || punct) ++single;
    else ++other;
  }
  return single + (other + 3) / 4;
}

std::string format_number(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", std::clamp(digits, 1, 17), v);
  std::string s = buf;
  if (s == "-0") s = "0";
  return s;
}

std::string fit_budget(const std::string& header, const std::vector<BudgetLine>& lines,
                       const std::vector<std::pair<std::string, std::size_t>>& hidden, std::size_t budget,
                       const TokenCounter& counter) {
  const TokenCounter count = counter ? counter : TokenCounter(approx_token_count);
  // The marker for keeping the first k lines.
  auto marker = [&](size_t k) {
    std::vector<std::pair<std::string, std::size_t>> units;
    auto add = [&](const std::string& unit, std::size_t n) {
      if (n == 0) return;
      for (auto& u : units) {
        if (u.first == unit) {
          u.second += n;
          return;
        }
      }
      units.emplace_back(unit, n);
    };
    for (size_t i = k; i < lines.size(); ++i) add(lines[i].unit, 1);
    for (const auto& h : hidden) add(h.first, h.second);
    if (units.empty()) return std::string();
    std::string m = "... (";
    for (size_t i = 0; i < units.size(); ++i) {
      if (i) m += ", ";
      m += cat("+", units[i].second, " more ", units[i].first);
    }
    return m + ")\n";
  };
  auto assemble = [&](size_t k) {
    std::string out = header + "\n";
    for (size_t i = 0; i < k; ++i) out += lines[i].text + "\n";
    return out + marker(k);
  };
  // Greedy on per-line counts, then verified on the whole text (BPE counts
  // are not exactly additive over lines).
  std::vector<std::size_t> prefix(lines.size() + 1, 0);
  prefix[0] = count(header + "\n");
  for (size_t i = 0; i < lines.size(); ++i) prefix[i + 1] = prefix[i] + count(lines[i].text + "\n");
  size_t k = lines.size();
  while (k > 0) {
    const std::string m = marker(k);
    if (prefix[k] + (m.empty() ? 0 : count(m)) <= budget) break;
    --k;
  }
  std::string out = assemble(k);
  while (k > 0 && count(out) > budget) out = assemble(--k);
  return out;
}

// ---- SerializerState -------------------------------------------------------

void SerializerState::advance_to(TimeUs start, double alpha) {
  for (auto& [key, s] : series_) {
    size_t used = 0;
    for (; used < s.pending.size() && s.pending[used].first < start; ++used) {
      const double x = s.pending[used].second;
      Baseline& b = s.base;
      if (b.points == 0) {
        b.ewma = x;
        b.dev = 0;
      } else {
        b.dev = (1 - alpha) * b.dev + alpha * std::fabs(x - b.ewma);
        b.ewma = (1 - alpha) * b.ewma + alpha * x;
      }
      ++b.points;
    }
    s.pending.erase(s.pending.begin(), s.pending.begin() + static_cast<std::ptrdiff_t>(used));
  }
}

void SerializerState::add_pending(const Slice& slice) {
  for (const MetricPoint& p : slice.metrics) {
    Series& s = series_[Key{p.entity, p.kpi}];
    if (p.time <= s.last_queued) continue;
    s.pending.emplace_back(p.time, p.value);
    s.last_queued = p.time;
  }
}

const SerializerState::Baseline* SerializerState::baseline(Id entity, Id kpi) const {
  auto it = series_.find(Key{entity, kpi});
  if (it == series_.end() || it->second.base.points == 0) return nullptr;
  return &it->second.base;
}

void SerializerState::clear() { series_.clear(); }

// ---- SliceSerializer -------------------------------------------------------

SliceSerializer::SliceSerializer(const Catalog& catalog, TemplateTextFn template_text, SerializeOptions options,
                                 TokenCounter counter)
    : catalog_(catalog),
      template_text_(std::move(template_text)),
      options_(options),
      counter_(counter ? std::move(counter) : TokenCounter(approx_token_count)) {}

std::size_t SliceSerializer::count_tokens(std::string_view text) const { return counter_(text); }

SerializedSlice SliceSerializer::serialize(const Slice& slice) {
  state_.advance_to(slice.start, options_.baseline_alpha);
  SerializedSlice out;
  out.metrics = metrics_text(slice);
  out.traces = traces_text(slice);
  out.logs = logs_text(slice);
  state_.add_pending(slice);
  return out;
}

std::string SliceSerializer::metrics_text(const Slice& slice) const {
  if (!slice.mask.has(Modality::kMetrics) || slice.metrics.empty()) return {};
  const int digits = options_.digits;
  // (entity, kpi) -> points in time order (slice.metrics is sorted by time).
  std::map<std::pair<Id, Id>, std::vector<std::pair<TimeUs, double>>> series;
  for (const MetricPoint& p : slice.metrics) series[{p.entity, p.kpi}].emplace_back(p.time, p.value);

  struct KpiLine {
    double score = 0;  // |z| against the baseline; 0 without one
    std::string name;
    std::string text;
  };
  struct EntityLine {
    double score = 0;
    std::string name;
    std::vector<KpiLine> kpis;
  };
  std::map<Id, EntityLine> entities;
  const double window_min = static_cast<double>(slice.end - slice.start) / 60e6;
  for (const auto& [key, points] : series) {
    std::vector<double> values;
    values.reserve(points.size());
    for (const auto& pv : points) values.push_back(pv.second);
    const double level = median_of(values);
    const double slope = slope_per_minute(points);
    const SerializerState::Baseline* base = state_.baseline(key.first, key.second);
    KpiLine k;
    k.name = key.second < catalog_.kpis.size() ? catalog_.kpis.name(key.second) : cat("kpi", key.second);
    std::string detail;
    double scale = std::fabs(level);
    if (base) {
      scale = std::max(scale, std::fabs(base->ewma));
      const double diff = level - base->ewma;
      const double spread = base->dev + options_.spread_floor * scale + kTiny;
      const double z = diff / spread;
      k.score = std::fabs(z);
      detail = cat("base ", format_number(base->ewma, digits));
      if (std::fabs(base->ewma) > kTiny) detail += cat(" ", signed_number(100.0 * diff / std::fabs(base->ewma), digits), "%");
      detail += cat(" z ", signed_number(std::clamp(z, -999.0, 999.0), digits));
    } else {
      detail = "no baseline";
    }
    const double rel_trend = scale > kTiny ? slope * window_min / scale : 0;
    if (std::fabs(rel_trend) < options_.flat_trend || points.size() < 2) {
      detail += ", flat";
    } else {
      detail += cat(", ", slope > 0 ? "rising " : "falling ", signed_number(slope, digits), "/min");
    }
    k.text = cat(k.name, " ", format_number(level, digits), " (", detail, ")");
    EntityLine& e = entities[key.first];
    e.name = entity_name(catalog_, key.first);
    e.score = std::max(e.score, k.score);
    e.kpis.push_back(std::move(k));
  }
  std::vector<EntityLine> ordered;
  ordered.reserve(entities.size());
  for (auto& [id, e] : entities) ordered.push_back(std::move(e));
  auto by_score = [](const auto& a, const auto& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.name < b.name;
  };
  std::sort(ordered.begin(), ordered.end(), by_score);

  const std::string header = cat("metrics: ", ordered.size(), " entities, ", series.size(), " series, window ",
                                 format_number(window_min, digits), " min");
  std::vector<BudgetLine> lines;
  const size_t shown = std::min(ordered.size(), static_cast<size_t>(std::max(0, options_.max_entities)));
  for (size_t i = 0; i < shown; ++i) {
    EntityLine& e = ordered[i];
    std::sort(e.kpis.begin(), e.kpis.end(), by_score);
    std::string text = e.name + ":";
    const size_t kshown = std::min(e.kpis.size(), static_cast<size_t>(std::max(1, options_.max_kpis_per_entity)));
    for (size_t j = 0; j < kshown; ++j) text += cat(j ? "; " : " ", e.kpis[j].text);
    if (kshown < e.kpis.size()) text += cat("; +", e.kpis.size() - kshown, " more kpis");
    lines.push_back({std::move(text), "entities"});
  }
  return fit_budget(header, lines, {{"entities", ordered.size() - shown}}, options_.metrics_budget, counter_);
}

std::string SliceSerializer::traces_text(const Slice& slice) const {
  if (!slice.mask.has(Modality::kTraces) || slice.spans.empty()) return {};
  const int digits = options_.digits;
  std::unordered_map<std::string, std::uint32_t> by_id;  // trace_id '\x1f' span_id -> span index
  by_id.reserve(slice.spans.size());
  std::set<std::string> traces;
  for (std::uint32_t i = 0; i < slice.spans.size(); ++i) {
    const Span& s = slice.spans[i];
    by_id.emplace(s.trace_id + '\x1f' + s.span_id, i);
    traces.insert(s.trace_id);
  }
  struct Edge {
    std::vector<double> ms;
    std::int64_t errors = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Edge> edges;  // (caller, callee, operation)
  std::int64_t errors = 0;
  for (const Span& s : slice.spans) {
    std::string caller = "root";
    if (!s.parent_id.empty()) {
      auto it = by_id.find(s.trace_id + '\x1f' + s.parent_id);
      if (it != by_id.end()) caller = service_name(catalog_, slice.spans[it->second].entity);
    }
    const std::string& op =
        s.operation < catalog_.operations.size() ? catalog_.operations.name(s.operation) : std::string("unknown");
    Edge& e = edges[{caller, service_name(catalog_, s.entity), op}];
    e.ms.push_back(static_cast<double>(s.duration_us) / 1000.0);
    if (s.error) {
      ++e.errors;
      ++errors;
    }
  }
  struct Row {
    std::int64_t errors;
    bool internal;  // caller == callee service (controller, client and DB spans inside one service)
    std::int64_t count;
    const std::tuple<std::string, std::string, std::string>* key;
    Edge* edge;
  };
  std::vector<Row> rows;
  for (auto& [key, e] : edges) rows.push_back({e.errors, std::get<0>(key) == std::get<1>(key), static_cast<std::int64_t>(e.ms.size()), &key, &e});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.errors != b.errors) return a.errors > b.errors;
    if (a.internal != b.internal) return !a.internal;
    if (a.count != b.count) return a.count > b.count;
    return *a.key < *b.key;
  });
  const std::string header = cat("traces: ", slice.spans.size(), " spans, ", traces.size(), " traces, ",
                                 edges.size(), " edges, ", errors, " errors");
  std::vector<BudgetLine> lines;
  const size_t shown = std::min(rows.size(), static_cast<size_t>(std::max(0, options_.max_edges)));
  for (size_t i = 0; i < shown; ++i) {
    const Row& r = rows[i];
    std::vector<double>& ms = r.edge->ms;
    std::sort(ms.begin(), ms.end());
    std::string text = cat(std::get<0>(*r.key), " -> ", std::get<1>(*r.key), " ", std::get<2>(*r.key), ": ", r.count,
                           r.count == 1 ? " call" : " calls");
    if (r.errors) text += cat(", ", r.errors, r.errors == 1 ? " error" : " errors");
    text += cat(", p50 ", format_number(percentile(ms, 0.5), digits), "ms p90 ",
                format_number(percentile(ms, 0.9), digits), "ms p99 ", format_number(percentile(ms, 0.99), digits),
                "ms");
    lines.push_back({std::move(text), "edges"});
  }
  return fit_budget(header, lines, {{"edges", rows.size() - shown}}, options_.traces_budget, counter_);
}

std::string SliceSerializer::logs_text(const Slice& slice) const {
  if (!slice.mask.has(Modality::kLogs) || slice.logs.empty()) return {};
  constexpr int kLevels = static_cast<int>(LogLevel::kFatal) + 1;
  struct Group {
    std::string service;
    std::string text;  // template text (or the message when the record has no template)
    std::int64_t count = 0;
    std::int64_t levels[kLevels] = {};
    int max_level = 0;
  };
  // Key: (service, template id or the message).
  std::map<std::pair<std::string, std::string>, Group> groups;
  std::vector<std::pair<std::string, std::string>> record_key(slice.logs.size());
  std::int64_t n_error = 0, n_warn = 0;
  for (size_t i = 0; i < slice.logs.size(); ++i) {
    const LogRecord& r = slice.logs[i];
    const std::string& service = service_name(catalog_, r.entity);
    std::string tkey = r.template_id != kNoId ? cat("#", r.template_id) : cat("=", r.message);
    auto [it, fresh] = groups.try_emplace({service, tkey});
    Group& g = it->second;
    if (fresh) {
      g.service = service;
      std::string text;
      if (r.template_id == kNoId) {
        text = r.message;
      } else if (template_text_) {
        text = template_text_(r.template_id);
      } else {
        text = cat("template ", r.template_id);
      }
      g.text = cut_line(text, options_.max_template_chars);
    }
    const int level = static_cast<int>(r.level);
    ++g.count;
    ++g.levels[level];
    g.max_level = std::max(g.max_level, level);
    if (r.level >= LogLevel::kError) ++n_error;
    else if (r.level == LogLevel::kWarn) ++n_warn;
    record_key[i] = it->first;
  }
  std::vector<const Group*> ordered;
  for (const auto& [key, g] : groups) ordered.push_back(&g);
  std::sort(ordered.begin(), ordered.end(), [](const Group* a, const Group* b) {
    if (a->max_level != b->max_level) return a->max_level > b->max_level;
    if (a->count != b->count) return a->count > b->count;
    if (a->service != b->service) return a->service < b->service;
    return a->text < b->text;
  });
  const std::string header = cat("logs: ", slice.logs.size(), " lines, ", groups.size(), " templates, ", n_error,
                                 " errors, ", n_warn, " warnings");
  // Line priority: WARN-or-worse templates, then the representative lines,
  // then the other templates (truncation drops from the end).
  const size_t shown = std::min(ordered.size(), static_cast<size_t>(std::max(0, options_.max_templates)));
  std::vector<BudgetLine> severe, rest;
  for (size_t i = 0; i < shown; ++i) {
    const Group& g = *ordered[i];
    std::string levels;
    for (int l = kLevels - 1; l >= 0; --l) {
      if (g.levels[l] == 0) continue;
      levels += cat(levels.empty() ? "" : " ", log_level_name(static_cast<LogLevel>(l)), " x", g.levels[l]);
    }
    BudgetLine line{cat(g.service, " ", levels, ": \"", g.text, "\""), "templates"};
    (g.max_level >= static_cast<int>(LogLevel::kWarn) ? severe : rest).push_back(std::move(line));
  }
  std::vector<BudgetLine> lines = std::move(severe);
  // Representative lines: ERROR/FATAL first, then WARN, each in time order,
  // one per (service, template).
  std::vector<size_t> candidates;
  for (size_t i = 0; i < slice.logs.size(); ++i) {
    if (slice.logs[i].level >= LogLevel::kWarn) candidates.push_back(i);
  }
  std::stable_sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
    const bool ea = slice.logs[a].level >= LogLevel::kError, eb = slice.logs[b].level >= LogLevel::kError;
    if (ea != eb) return ea;
    return slice.logs[a].time < slice.logs[b].time;
  });
  std::set<std::pair<std::string, std::string>> used;
  int examples = 0;
  for (size_t i : candidates) {
    if (examples >= options_.representative_lines) break;
    if (!used.insert(record_key[i]).second) continue;
    const LogRecord& r = slice.logs[i];
    lines.push_back({cat("example ", log_level_name(r.level), " ", service_name(catalog_, r.entity), ": ",
                         cut_line(r.message, options_.max_line_chars)),
                     "examples"});
    ++examples;
  }
  for (auto& line : rest) lines.push_back(std::move(line));
  return fit_budget(header, lines, {{"templates", ordered.size() - shown}}, options_.logs_budget, counter_);
}

}  // namespace rslicer
