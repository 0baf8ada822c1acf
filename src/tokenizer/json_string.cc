#include "tokenizer/json_string.h"

#include <charconv>

#include "core/errors.h"
#include "tokenizer/utf8.h"

namespace rslicer {

namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at line[i..i+4); -1 when they are not hex.
long read_hex4(std::string_view line, std::size_t i) {
  if (i + 4 > line.size()) return -1;
  long v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int h = hex_value(line[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

}  // namespace

bool parse_json_string_line(std::string_view line, std::string& out, std::string& error) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n && is_json_space(line[i])) ++i;
  if (i >= n) {
    error = "empty line, expected a JSON string";
    return false;
  }
  if (line[i] != '"') {
    error = cat("expected a JSON string starting with '\"' at column ", i + 1);
    return false;
  }
  ++i;
  while (true) {
    if (i >= n) {
      error = "unterminated JSON string";
      return false;
    }
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == '"') {
      ++i;
      break;
    }
    if (c < 0x20) {
      error = cat("unescaped control character 0x", std::hex, static_cast<int>(c), std::dec,
                  " in JSON string at column ", i + 1);
      return false;
    }
    if (c != '\\') {
      // Copy a run of plain bytes at once.
      std::size_t j = i + 1;
      while (j < n && line[j] != '"' && line[j] != '\\' && static_cast<unsigned char>(line[j]) >= 0x20)
        ++j;
      out.append(line.data() + i, j - i);
      i = j;
      continue;
    }
    if (i + 1 >= n) {
      error = "unterminated escape in JSON string";
      return false;
    }
    const char e = line[i + 1];
    switch (e) {
      case '"': out.push_back('"'); i += 2; break;
      case '\\': out.push_back('\\'); i += 2; break;
      case '/': out.push_back('/'); i += 2; break;
      case 'b': out.push_back('\b'); i += 2; break;
      case 'f': out.push_back('\f'); i += 2; break;
      case 'n': out.push_back('\n'); i += 2; break;
      case 'r': out.push_back('\r'); i += 2; break;
      case 't': out.push_back('\t'); i += 2; break;
      case 'u': {
        const long u = read_hex4(line, i + 2);
        if (u < 0) {
          error = cat("bad \\u escape in JSON string at column ", i + 1);
          return false;
        }
        i += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
          // A high surrogate pairs only with an immediately following low one.
          if (i + 1 < n && line[i] == '\\' && line[i + 1] == 'u') {
            const long low = read_hex4(line, i + 2);
            if (low >= 0xDC00 && low <= 0xDFFF) {
              append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
              i += 6;
              break;
            }
          }
          append_utf8(out, 0xFFFD);  // lone high surrogate: TextEncoder writes U+FFFD
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          append_utf8(out, 0xFFFD);  // lone low surrogate
        } else {
          append_utf8(out, static_cast<char32_t>(u));
        }
        break;
      }
      default:
        error = cat("bad escape '\\", e, "' in JSON string at column ", i + 1);
        return false;
    }
  }
  while (i < n && is_json_space(line[i])) ++i;
  if (i != n) {
    error = cat("unexpected text after the JSON string at column ", i + 1);
    return false;
  }
  return true;
}

std::string json_quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

void append_ids_json(std::string& out, const std::vector<std::int32_t>& ids) {
  out.push_back('[');
  char buf[16];
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (k) out.push_back(',');
    const auto r = std::to_chars(buf, buf + sizeof(buf), ids[k]);
    out.append(buf, r.ptr);
  }
  out.push_back(']');
}

std::string ids_to_json(const std::vector<std::int32_t>& ids) {
  std::string out;
  append_ids_json(out, ids);
  return out;
}

}  // namespace rslicer
