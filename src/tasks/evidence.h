// Why an entity is ranked as a root cause, in numbers and in words. The
// root-cause heads collect, per candidate entity, the deviations their
// features came from; describe_evidence() turns them into sentences an SRE
// can check ("CpuUsageRate(%): 93.2 in the window, 11.8 normally (robust z
// 41)"), strongest first. The report, the CLI and the dashboard all show
// these same sentences.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tasks/raw_metrics.h"
#include "tasks/trace_evidence.h"

namespace rslicer {

struct EntityEvidence {
  double embedding_deviation = 0;        // distance of its embedding to its own profile / typical distance
  std::optional<EntityScore> metric;     // the most deviant resource KPI (robust scorer)
  std::optional<EntityScore> latency;    // the most deviant latency KPI
  std::optional<TraceCaseEvidence> trace;  // its spans and logs against its profile
};

// Evidence of one case, by entity name.
using CaseEvidence = std::map<std::string, EntityEvidence>;

// Sentences, strongest deviation first; at most `max_sentences`. Deviations
// too small to matter (about normal) are left out, so an entity ranked on
// nothing says so.
std::vector<std::string> describe_evidence(const EntityEvidence& e, size_t max_sentences = 4);

// A compact number for sentences: 3 significant digits, no exponent for
// ordinary magnitudes ("0.0042", "93.2", "1.2e+08").
std::string short_number(double v);
// A duration in microseconds as "850 us", "12.3 ms", "1.4 s".
std::string short_duration_us(double us);

}  // namespace rslicer
