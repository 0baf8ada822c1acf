// Log severity, shared by the readers and the log parser.
#pragma once

#include <cstdint>
#include <string_view>

namespace rslicer {

enum class LogLevel : std::uint8_t { kUnknown, kTrace, kDebug, kInfo, kWarn, kError, kFatal };
const char* log_level_name(LogLevel l);
// "WARN", "warning", "E", "severe", ... -> level; kUnknown when not a level word.
LogLevel parse_log_level(std::string_view s);

}  // namespace rslicer
