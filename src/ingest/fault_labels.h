// Fault label files shared by the readers (private to src/ingest):
//  - faults.json / labels.json (the otlp reader's labels, also read by
//    widecsv): a JSON array, or {"faults": [...]}, of objects with start,
//    end or duration_s, level, root_cause, fault_type (docs/formats.md, otlp);
//  - RCAEval-style folder labels: a folder named <root_cause>_<fault_type>
//    holding (directly, or in numbered run folders) an inject_time.txt with
//    the fault start (docs/formats.md, rcaeval and widecsv).
// Bad entries are counted in ParseStats with file, line and reason.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/parse_stats.h"
#include "telemetry/record.h"

namespace rslicer::ingest_detail {

// A label's duration_s (a number, or numeric text) in microseconds; nullopt when it is not one, negative, or over
// 1e12 s.
std::optional<TimeUs> label_duration_us(const nlohmann::json& v);

// True for faults.json / labels.json (plain or .gz), any case.
bool is_fault_json_name(const std::string& path);

// Reads one faults.json / labels.json file and appends its valid faults to
// `out`; a fault with neither end nor duration_s lasts `default_duration_s`.
// The file is counted in files_read / bytes_read.
void read_fault_json(const std::string& path, double default_duration_s, ParseStats& stats,
                     std::vector<FaultEvent>& out);

// The case folder of a run folder: the folder itself, or its parent when
// its name is a run number ("adservice_cpu/3" -> "adservice_cpu").
std::filesystem::path case_folder(const std::filesystem::path& run_dir);

// Reads an inject_time.txt (its first non-blank line: epoch number, unit by
// magnitude, or date-time text). False after counting a rejection.
bool read_inject_time(const std::string& path, ParseStats& stats, TimeUs& out);

// The label of the run folder holding `inject_path` (an inject_time.txt):
// start from the file, root cause and fault type from the case folder's name
// split at its last '_', level "service", end = start + duration_s. False
// after counting a rejection (unreadable or bad time, a name without '_').
bool read_folder_label(const std::string& inject_path, double duration_s, ParseStats& stats, FaultEvent& out);

}  // namespace rslicer::ingest_detail
