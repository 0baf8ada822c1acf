// Unwrapping raw log lines: container runtimes' JSON envelopes and the
// leading "time LEVEL" prefix most application loggers write.
#pragma once

#include <string>
#include <string_view>

#include "core/log_level.h"

namespace rslicer {

struct ParsedLogLine {
  std::string message;  // log text without envelope, leading timestamp and level
  LogLevel level = LogLevel::kUnknown;
  std::string stream;   // "stdout"/"stderr" when the envelope has it
};

// Parses a Docker JSON-file line: {"log":"...","stream":"stdout","time":"..."}.
// Returns false when the text is not such an object (the caller may then
// treat it as a plain line).
bool parse_docker_json(std::string_view text, ParsedLogLine& out);

// Splits "16:42:22.382 INFO  logger#12 text" / "[ERROR] text" /
// "2023-01-29 08:00:00,123 WARN text" / "level=error msg=..." into level and
// message. The message keeps everything after the level token; the level is
// kUnknown when no level token is found in the first few tokens.
void split_level(std::string_view line, LogLevel& level, std::string& message);

// Both steps: envelope (when present) then level prefix.
ParsedLogLine parse_log_line(std::string_view text);

}  // namespace rslicer
