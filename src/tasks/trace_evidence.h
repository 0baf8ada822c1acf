// Per-pod evidence from the traces and logs themselves, for root cause
// localisation: per entity and minute, the spans it executed, their
// exclusive ("self") time = duration minus the durations of the span's
// children, error spans, log lines and ERROR/FATAL log lines. A case's
// evidence for an entity compares the case window with the entity's own
// profile: the median over every other minute that holds traces or logs
// (unlabelled; on Nezha these are the one normal minute per day and the
// windows of other faults, where almost every pod is not the root cause).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/time.h"
#include "telemetry/record.h"
#include "telemetry/stream.h"

namespace rslicer {

struct MinuteEvidence {
  double spans = 0;        // spans executed by the entity in the minute
  double self_us = 0;      // sum of their self times (microseconds)
  double error_spans = 0;  // spans flagged as errors
  double logs = 0;         // log lines
  double error_logs = 0;   // log lines at ERROR or FATAL level
  double error_mentions = 0;  // ERROR/FATAL or exception log lines of any entity that name this entity's service
  double caller_spans = 0;    // spans of other entities that called this entity (parents of its spans)
  double caller_self_us = 0;  // their summed self time: a slow link into the entity raises its callers' self time
};

constexpr int kTraceFeatureCount = 7;

// One entity's span and log evidence of a case against its own profile.
struct TraceCaseEvidence {
  // [log self time per span ratio, log1p error spans excess, log1p error logs excess,
  //  log span count ratio, log log-line count ratio, log1p error mentions excess,
  //  log callers' self time per call ratio]; missing data gives 0
  std::vector<double> features;
  MinuteEvidence case_rate;   // the case window, per minute
  MinuteEvidence normal;      // the profile: median per active minute
  double self_per_span_us = 0, normal_self_per_span_us = 0;  // case / profile (0 when unknown)
  double caller_per_call_us = 0, normal_caller_per_call_us = 0;
};

// Self time of every span: duration minus the summed durations of its direct
// children in the same trace, clamped at 0. Output is aligned with `spans`.
std::vector<std::int64_t> span_self_times(const std::vector<Span>& spans);

class TraceTable {
 public:
  // Adds spans (self times computed within the batch: pass whole traces) and log lines.
  void add_spans(const std::vector<Span>& spans, const std::vector<std::string>& entity_names);
  void add_log(const std::string& entity, TimeUs t, LogLevel level);
  void add_error_mention(const std::string& entity, TimeUs t);
  // entity -> minute start -> evidence
  const std::map<std::string, std::map<TimeUs, MinuteEvidence>>& minutes() const { return minutes_; }
  bool empty() const { return minutes_.empty(); }

 private:
  MinuteEvidence& at(const std::string& entity, TimeUs t);
  std::map<std::string, std::map<TimeUs, MinuteEvidence>> minutes_;
  std::map<TimeUs, bool> active_;  // minutes holding any span or log (all entities)
  friend std::map<std::string, TraceCaseEvidence> trace_case_features(const TraceTable&, TimeUs, TimeUs, TimeUs,
                                                                     TimeUs);
};

// Fills a TraceTable with every span and log line of a pass (dataset/dataset.h).
// An error log line (ERROR/FATAL, or "Exception" in the text) that names a
// service ("ts-basic-service") counts as an error mention for every pod of
// that service: callers blame the failing callee in their errors.
class TraceTableBuilder final : public RecordObserver {
 public:
  void span(const Span& s, const Catalog&) override { spans_.push_back(s); }
  void log(const LogRecord& l, const Catalog& catalog) override;
  void finish(const Catalog& catalog) override;
  const TraceTable& table() const { return table_; }

 private:
  TraceTable table_;
  std::vector<Span> spans_;  // self times need whole traces: computed at finish()
  std::map<std::string, std::vector<std::string>> pods_of_;  // service name -> its pods (as far as the catalog knew)
  size_t known_entities_ = 0;
};


// Per-entity evidence of the case window [start, end) against the entity's
// profile over the active minutes outside [exclude_a, exclude_b). Every
// entity of the table is returned.
std::map<std::string, TraceCaseEvidence> trace_case_features(const TraceTable& table, TimeUs start, TimeUs end,
                                                            TimeUs exclude_a, TimeUs exclude_b);

}  // namespace rslicer
