#include "core/log_level.h"

#include "core/strings.h"

namespace rslicer {

const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kUnknown: return "UNKNOWN";
    case LogLevel::kTrace: return "TRACE";
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kFatal: return "FATAL";
  }
  return "UNKNOWN";
}

LogLevel parse_log_level(std::string_view s) {
  const std::string l = to_lower(trim(s));
  if (l == "trace" || l == "t") return LogLevel::kTrace;
  if (l == "debug" || l == "d") return LogLevel::kDebug;
  if (l == "info" || l == "i" || l == "information" || l == "notice") return LogLevel::kInfo;
  if (l == "warn" || l == "warning" || l == "w") return LogLevel::kWarn;
  if (l == "error" || l == "err" || l == "e" || l == "severe") return LogLevel::kError;
  if (l == "fatal" || l == "critical" || l == "crit" || l == "f" || l == "panic") return LogLevel::kFatal;
  return LogLevel::kUnknown;
}

}  // namespace rslicer
