#include "logparse/log_line.h"

#include <cctype>

#include "core/strings.h"
#include "core/utf8.h"

namespace rslicer {

namespace {

bool parse_hex4(std::string_view s, size_t pos, unsigned& out) {
  if (pos + 4 > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < 4; ++i) {
    const char c = s[pos + i];
    out <<= 4;
    if (c >= '0' && c <= '9') out |= c - '0';
    else if (c >= 'a' && c <= 'f') out |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') out |= c - 'A' + 10;
    else return false;
  }
  return true;
}

// Reads a JSON string starting at s[pos] == '"'; leaves pos after the closing quote.
bool read_json_string(std::string_view s, size_t& pos, std::string& out) {
  if (pos >= s.size() || s[pos] != '"') return false;
  ++pos;
  out.clear();
  while (pos < s.size()) {
    // Plain characters up to the next quote or backslash in one append.
    size_t run = pos;
    while (run < s.size() && s[run] != '"' && s[run] != '\\') ++run;
    out.append(s.data() + pos, run - pos);
    pos = run;
    if (pos >= s.size()) break;
    const char c = s[pos++];
    if (c == '"') return true;
    if (pos >= s.size()) return false;
    const char e = s[pos++];
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case '/': out.push_back('/'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case 'u': {
        unsigned cp;
        if (!parse_hex4(s, pos, cp)) return false;
        pos += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && pos + 6 <= s.size() && s[pos] == '\\' && s[pos + 1] == 'u') {
          unsigned lo;
          if (parse_hex4(s, pos + 2, lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            pos += 6;
          }
        }
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return false;
}

void skip_ws(std::string_view s, size_t& pos) {
  while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
}

bool looks_like_time_token(std::string_view t) {
  // "16:42:22.382", "2023-01-29", "08:00:00,123", "2023-01-29T08:00:00Z"
  if (t.size() < 5) return false;
  int digits = 0, seps = 0;
  for (char c : t) {
    if (std::isdigit(static_cast<unsigned char>(c))) ++digits;
    else if (c == ':' || c == '-' || c == '.' || c == ',' || c == 'T' || c == 'Z' || c == '+' || c == '/') ++seps;
    else return false;
  }
  return digits >= 4 && seps >= 1;
}

}  // namespace

bool parse_docker_json(std::string_view text, ParsedLogLine& out) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  size_t pos = 1;
  bool have_log = false;
  std::string key, value;
  for (;;) {
    skip_ws(text, pos);
    if (pos < text.size() && text[pos] == '}') break;
    if (!read_json_string(text, pos, key)) return false;
    skip_ws(text, pos);
    if (pos >= text.size() || text[pos] != ':') return false;
    ++pos;
    skip_ws(text, pos);
    if (pos < text.size() && text[pos] == '"') {
      if (!read_json_string(text, pos, value)) return false;
      if (key == "log") {
        out.message = std::move(value);  // value is refilled (cleared first) by the next read
        have_log = true;
      } else if (key == "stream") {
        out.stream = value;
      }
    } else {
      // Non-string value: skip to the next top-level comma or brace.
      int depth = 0;
      while (pos < text.size()) {
        const char c = text[pos];
        if (c == '{' || c == '[') ++depth;
        else if (c == '}' || c == ']') {
          if (depth == 0) break;
          --depth;
        } else if (c == ',' && depth == 0) {
          break;
        }
        ++pos;
      }
    }
    skip_ws(text, pos);
    if (pos < text.size() && text[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < text.size() && text[pos] == '}') break;
    return false;
  }
  return have_log;
}

void split_level(std::string_view line, LogLevel& level, std::string& message) {
  level = LogLevel::kUnknown;
  std::string_view rest = trim(line);
  // Look at up to 4 leading tokens: timestamps are skipped, a level token ends the prefix.
  std::string_view cursor = rest;
  for (int i = 0; i < 4 && !cursor.empty(); ++i) {
    size_t end = 0;
    while (end < cursor.size() && !std::isspace(static_cast<unsigned char>(cursor[end]))) ++end;
    std::string_view token = cursor.substr(0, end);
    std::string_view after = trim(cursor.substr(end));
    std::string_view bare = token;
    while (!bare.empty() && (bare.front() == '[' || bare.front() == '<')) bare.remove_prefix(1);
    while (!bare.empty() && (bare.back() == ']' || bare.back() == '>' || bare.back() == ':')) bare.remove_suffix(1);
    if (starts_with(bare, "level=")) bare.remove_prefix(6);
    const LogLevel l = bare.size() >= 4 ? parse_log_level(bare) : LogLevel::kUnknown;
    if (l != LogLevel::kUnknown) {
      level = l;
      message.assign(after);
      return;
    }
    if (!looks_like_time_token(token)) break;
    cursor = after;
  }
  message.assign(rest);
}

ParsedLogLine parse_log_line(std::string_view text) {
  ParsedLogLine out;
  std::string inner;
  if (parse_docker_json(text, out)) {
    inner.swap(out.message);
  } else {
    inner.assign(text);
  }
  split_level(inner, out.level, out.message);
  while (!out.message.empty() && (out.message.back() == '\n' || out.message.back() == '\r'))
    out.message.pop_back();
  return out;
}

}  // namespace rslicer
