// `rslicer inspect`: what is in a dataset, as one pass over it (read,
// template-mine, slice), with every rejected record accounted for.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest/source.h"
#include "logparse/drain.h"
#include "slice/slice.h"

namespace rslicer {

struct InspectOptions {
  std::string data;           // dataset folder or file
  std::string format;         // empty or "auto": detect
  ReadOptions read;           // strict mode, fault duration
  SliceOptions slice;         // window length / stride
  DrainOptions drain;         // template miner settings
  int top_templates = 10;     // templates listed in the text output
};

struct InspectReport {
  std::string data, format;
  std::map<std::string, std::int64_t> entities_by_kind;  // "pod" -> N
  std::int64_t metric_entities = 0, metric_kpis = 0;
  std::int64_t trace_ids = 0, operations = 0;
  std::vector<std::pair<std::string, std::int64_t>> untraced_callees;  // Dataset::untraced_callees
  TimeUs first_time = 0, last_time = 0;
  ReadCounts counts;
  std::vector<LogTemplate> templates;  // sorted by count, descending
  std::int64_t template_count = 0;
  std::vector<FaultEvent> faults;
  std::map<std::string, std::int64_t> faults_by_type;
  SliceStats slice_stats;
  std::int64_t slices_with[kNumModalities] = {0, 0, 0};  // slices holding each modality
  ParseStats parse;
};

InspectReport inspect_dataset(const InspectOptions& options);

// {"metrics":{"points","rows","entities",...},"traces":{"spans","traces"},"logs":{"records","templates"},
//  "faults":N,"slices":N,"rejected":{"count","examples"},...}
nlohmann::json inspect_to_json(const InspectReport& report);
std::string inspect_to_text(const InspectReport& report, int top_templates);

}  // namespace rslicer
