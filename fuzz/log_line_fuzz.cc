// Log line unwrapping (logparse/log_line.h): the Docker JSON-file envelope
// and the "time LEVEL" prefix, on the whole input and on each of its lines.
#include "fuzz_target.h"
#include "logparse/log_line.h"

RSLICER_FUZZ_TARGET(log_line) {
  std::string_view text = fuzz::as_text(data, size);
  try {
    ParsedLogLine p = parse_log_line(text);
    LogLevel level = LogLevel::kUnknown;
    std::string message;
    split_level(p.message, level, message);
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const std::string_view line = text.substr(0, nl);
      ParsedLogLine docker;
      parse_docker_json(line, docker);
      split_level(line, level, message);
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
  } catch (const Error&) {
  }
  return 0;
}
