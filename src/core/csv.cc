#include "core/csv.h"

#include <algorithm>

namespace rslicer {

namespace {
constexpr int kMaxRecordLines = 64;

// Parses `text` into spans over `out`; returns false if a quote is open at the end.
// Copies runs between quotes and delimiters in one append each.
bool parse_fields(std::string_view text, char delim, std::string& out,
                  std::vector<std::pair<size_t, size_t>>& spans) {
  out.clear();
  spans.clear();
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  auto append_until_delim = [&] {
    const size_t end = std::min(text.find(delim, i), n);
    out.append(text.data() + i, end - i);
    i = end;
  };
  for (;;) {
    const size_t start = out.size();
    if (i < n && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const size_t q = text.find('"', i);
        if (q == std::string_view::npos) {
          out.append(text.data() + i, n - i);
          i = n;
          break;
        }
        out.append(text.data() + i, q - i);
        if (q + 1 < n && text[q + 1] == '"') {  // "" is an escaped quote
          out.push_back('"');
          i = q + 2;
          continue;
        }
        i = q + 1;
        closed = true;
        break;
      }
      if (!closed) {
        spans.emplace_back(start, out.size() - start);
        return false;
      }
      // Text after the closing quote up to the delimiter is kept verbatim.
      append_until_delim();
    } else {
      append_until_delim();
    }
    spans.emplace_back(start, out.size() - start);
    if (i >= n) return true;
    ++i;  // delimiter
  }
}
}  // namespace

bool split_csv_line(std::string_view line, char delim, std::vector<std::string_view>& fields,
                    std::string& storage) {
  fields.clear();
  // Fast path: no quotes, split in place.
  if (line.find('"') == std::string_view::npos) {
    size_t start = 0;
    for (;;) {
      const size_t pos = line.find(delim, start);
      if (pos == std::string_view::npos) {
        fields.push_back(line.substr(start));
        return true;
      }
      fields.push_back(line.substr(start, pos - start));
      start = pos + 1;
    }
  }
  std::vector<std::pair<size_t, size_t>> spans;
  const bool ok = parse_fields(line, delim, storage, spans);
  for (const auto& [s, l] : spans) fields.emplace_back(storage.data() + s, l);
  return ok;
}

bool CsvReader::next(std::vector<std::string_view>& fields) {
  fields.clear();
  unterminated_ = false;
  std::string_view line;
  if (!lines_.next(line)) return false;
  first_line_ = lines_.line_number();
  if (line.find('"') == std::string_view::npos) {
    // Views straight into the line reader's buffer: it stays valid until the next call.
    size_t start = 0;
    const std::string_view rec = line;
    for (;;) {
      const size_t pos = rec.find(delim_, start);
      if (pos == std::string_view::npos) {
        fields.push_back(rec.substr(start));
        return true;
      }
      fields.push_back(rec.substr(start, pos - start));
      start = pos + 1;
    }
  }
  std::string joined(line);
  std::string storage;
  int continuation_lines = 0;
  while (!parse_fields(joined, delim_, storage, spans_)) {
    // A stray quote must not swallow the rest of the file: give up after a
    // bounded number of continuation lines and report the record.
    if (++continuation_lines > kMaxRecordLines || !lines_.next(line)) {
      unterminated_ = true;
      break;
    }
    joined.push_back('\n');
    joined.append(line);
  }
  record_.swap(storage);
  for (const auto& [s, l] : spans_) fields.emplace_back(record_.data() + s, l);
  return true;
}

void append_csv_field(std::string& out, std::string_view field) {
  const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace rslicer
