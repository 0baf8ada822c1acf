#include "tasks/trace_evidence.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "telemetry/stream.h"

namespace rslicer {
namespace {

constexpr TimeUs kMinute = 60 * kUsPerSecond;

TimeUs minute_of(TimeUs t) { return t - ((t % kMinute) + kMinute) % kMinute; }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::vector<std::int64_t> span_self_times(const std::vector<Span>& spans) {
  std::unordered_map<std::string, size_t> index;  // trace_id + '\n' + span_id -> position
  index.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) index[spans[i].trace_id + '\n' + spans[i].span_id] = i;
  std::vector<std::int64_t> self(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) self[i] = spans[i].duration_us;
  for (const auto& s : spans) {
    if (s.parent_id.empty()) continue;
    auto it = index.find(s.trace_id + '\n' + s.parent_id);
    if (it != index.end()) self[it->second] -= s.duration_us;
  }
  for (auto& v : self) v = std::max<std::int64_t>(0, v);
  return self;
}

MinuteEvidence& TraceTable::at(const std::string& entity, TimeUs t) {
  TimeUs m = minute_of(t);
  active_[m] = true;
  return minutes_[entity][m];
}

void TraceTable::add_spans(const std::vector<Span>& spans, const std::vector<std::string>& entity_names) {
  auto self = span_self_times(spans);
  std::unordered_map<std::string, size_t> index;  // trace_id + '\n' + span_id -> position
  index.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) index[spans[i].trace_id + '\n' + spans[i].span_id] = i;
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& s = spans[i];
    if (s.parent_id.empty() || s.entity == kNoId || s.entity >= entity_names.size()) continue;
    auto it = index.find(s.trace_id + '\n' + s.parent_id);
    if (it == index.end() || spans[it->second].entity == s.entity) continue;
    MinuteEvidence& e = at(entity_names[s.entity], s.start);
    e.caller_spans += 1;
    e.caller_self_us += static_cast<double>(self[it->second]);
  }
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& s = spans[i];
    if (s.entity == kNoId || s.entity >= entity_names.size()) continue;
    MinuteEvidence& e = at(entity_names[s.entity], s.start);
    e.spans += 1;
    e.self_us += static_cast<double>(self[i]);
    e.error_spans += s.error ? 1 : 0;
  }
}

void TraceTable::add_log(const std::string& entity, TimeUs t, LogLevel level) {
  MinuteEvidence& e = at(entity, t);
  e.logs += 1;
  e.error_logs += level == LogLevel::kError || level == LogLevel::kFatal ? 1 : 0;
}

void TraceTable::add_error_mention(const std::string& entity, TimeUs t) { at(entity, t).error_mentions += 1; }

void TraceTableBuilder::log(const LogRecord& l, const Catalog& cat) {
  if (l.entity == kNoId) return;
  table_.add_log(cat.entities.name(l.entity), l.time, l.level);
  bool error = l.level == LogLevel::kError || l.level == LogLevel::kFatal ||
               l.message.find("Exception") != std::string::npos;
  if (!error) return;
  if (known_entities_ != cat.entities.size()) {  // the catalog grows while reading
    known_entities_ = cat.entities.size();
    pods_of_.clear();
    for (size_t i = 0; i < known_entities_ && i < cat.entity_info.size(); ++i) {
      Id sv = cat.entity_info[i].service;
      if (sv != kNoId && sv != i) pods_of_[cat.entities.name(sv)].push_back(cat.entities.name(static_cast<Id>(i)));
    }
  }
  for (const auto& [service, pods] : pods_of_)
    if (l.message.find(service) != std::string::npos)
      for (const auto& p : pods) table_.add_error_mention(p, l.time);
}

void TraceTableBuilder::finish(const Catalog& cat) {
  std::vector<std::string> names;
  for (size_t i = 0; i < cat.entities.size(); ++i) names.push_back(cat.entities.name(static_cast<Id>(i)));
  table_.add_spans(spans_, names);
  spans_ = {};
}

std::map<std::string, TraceCaseEvidence> trace_case_features(const TraceTable& table, TimeUs start, TimeUs end,
                                                            TimeUs exclude_a, TimeUs exclude_b) {
  std::vector<TimeUs> profile_minutes, case_minutes;
  for (auto& [m, on] : table.active_) {
    if (m >= start && m < end) case_minutes.push_back(m);
    else if (m + kMinute <= exclude_a || m >= exclude_b) profile_minutes.push_back(m);
  }
  std::map<std::string, TraceCaseEvidence> out;
  for (const auto& [entity, by_minute] : table.minutes_) {
    auto get = [&](TimeUs m) {
      auto it = by_minute.find(m);
      return it == by_minute.end() ? MinuteEvidence{} : it->second;
    };
    MinuteEvidence c;
    for (TimeUs m : case_minutes) {
      auto e = get(m);
      c.spans += e.spans;
      c.self_us += e.self_us;
      c.error_spans += e.error_spans;
      c.logs += e.logs;
      c.error_logs += e.error_logs;
      c.error_mentions += e.error_mentions;
      c.caller_spans += e.caller_spans;
      c.caller_self_us += e.caller_self_us;
    }
    double n = std::max<size_t>(1, case_minutes.size());
    std::vector<double> per_span, spans, err_spans, logs, err_logs, mentions, per_call;
    for (TimeUs m : profile_minutes) {
      auto e = get(m);
      if (e.spans > 0) per_span.push_back(e.self_us / e.spans);
      spans.push_back(e.spans);
      err_spans.push_back(e.error_spans);
      logs.push_back(e.logs);
      err_logs.push_back(e.error_logs);
      mentions.push_back(e.error_mentions);
      if (e.caller_spans > 0) per_call.push_back(e.caller_self_us / e.caller_spans);
    }
    TraceCaseEvidence ev;
    ev.case_rate = {c.spans / n, c.self_us / n, c.error_spans / n, c.logs / n, c.error_logs / n, c.error_mentions / n,
                    c.caller_spans / n, c.caller_self_us / n};
    ev.normal = {median(spans), 0, median(err_spans), median(logs), median(err_logs), median(mentions), 0, 0};
    if (c.spans > 0) ev.self_per_span_us = c.self_us / c.spans;
    if (!per_span.empty()) ev.normal_self_per_span_us = median(per_span);
    if (c.caller_spans > 0) ev.caller_per_call_us = c.caller_self_us / c.caller_spans;
    if (!per_call.empty()) ev.normal_caller_per_call_us = median(per_call);
    std::vector<double> f(kTraceFeatureCount, 0.0);
    if (c.spans > 0 && !per_span.empty()) f[0] = std::log((c.self_us / c.spans + 100.0) / (median(per_span) + 100.0));
    f[1] = std::max(0.0, std::log1p(c.error_spans / n) - std::log1p(median(err_spans)));
    f[2] = std::max(0.0, std::log1p(c.error_logs / n) - std::log1p(median(err_logs)));
    f[3] = std::log((c.spans / n + 1.0) / (median(spans) + 1.0));
    f[4] = std::log((c.logs / n + 1.0) / (median(logs) + 1.0));
    f[5] = std::max(0.0, std::log1p(c.error_mentions / n) - std::log1p(median(mentions)));
    if (c.caller_spans > 0 && !per_call.empty())
      f[6] = std::log((c.caller_self_us / c.caller_spans + 100.0) / (median(per_call) + 100.0));
    ev.features = std::move(f);
    out[entity] = std::move(ev);
  }
  return out;
}

}  // namespace rslicer
