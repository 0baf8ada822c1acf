// The format registry behind open_source() and detect_format(). Each format
// provides a probe (how sure it is that a path holds this format) and an
// opener. Implemented in <format>_reader.cc.
#pragma once

#include <memory>
#include <string>

#include "ingest/source.h"

namespace rslicer {

// Probe scores: 0 = not this format, 1 = plausible, 2 = certain.
int probe_nezha(const std::string& path);
int probe_aiops22(const std::string& path);
int probe_otlp(const std::string& path);
int probe_rcaeval(const std::string& path);
int probe_widecsv(const std::string& path);

std::unique_ptr<TelemetrySource> open_nezha(const std::string& path, const ReadOptions& options);
std::unique_ptr<TelemetrySource> open_aiops22(const std::string& path, const ReadOptions& options);
std::unique_ptr<TelemetrySource> open_otlp(const std::string& path, const ReadOptions& options);
std::unique_ptr<TelemetrySource> open_rcaeval(const std::string& path, const ReadOptions& options);
std::unique_ptr<TelemetrySource> open_widecsv(const std::string& path, const ReadOptions& options);

// Default label durations when a label file gives only the injection time.
constexpr double kNezhaDefaultFaultDurationS = 180;   // logs/traces cover the 3 minutes after injection
constexpr double kAiops22DefaultFaultDurationS = 300; // the published protocol's case window ends at t + 300 s
constexpr double kRcaevalDefaultFaultDurationS = 300; // RCAEval's rq2.py scores the 300 samples (1 s apart) after inject_time
constexpr double kWidecsvDefaultFaultDurationS = 300; // as rcaeval (folder labels) and otlp (faults.json)

}  // namespace rslicer
