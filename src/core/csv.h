// RFC-4180 CSV splitting on top of LineReader (and the quoting of a field to write): quoted fields with "" escapes
// and quoted fields spanning lines. Fields are views into an internal buffer,
// valid until the next call.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/line_reader.h"

namespace rslicer {

class CsvReader {
 public:
  explicit CsvReader(const std::string& path, char delimiter = ',') : lines_(path), delim_(delimiter) {}

  // Next record, or false at end of file. A record whose quote is still open
  // at end of file (or after 64 continuation lines) is returned with
  // unterminated() == true.
  bool next(std::vector<std::string_view>& fields);

  std::int64_t line_number() const { return first_line_; }  // line the record started on
  bool unterminated() const { return unterminated_; }
  const std::string& path() const { return lines_.path(); }
  std::int64_t bytes_read() const { return lines_.bytes_read(); }

 private:
  LineReader lines_;
  char delim_;
  std::string record_;  // unescaped field bytes, fields back to back
  std::vector<std::pair<size_t, size_t>> spans_;
  std::int64_t first_line_ = 0;
  bool unterminated_ = false;
};

// Splits one line (no embedded newlines) into fields. Returns false when a
// quote is left open. `storage` holds unescaped data when needed.
bool split_csv_line(std::string_view line, char delim, std::vector<std::string_view>& fields,
                    std::string& storage);

// Appends one field to a CSV line being written, RFC-4180 quoted (with "" escapes) only when it holds a comma,
// quote, CR or LF, or starts/ends with a space: what CsvReader reads back unchanged.
void append_csv_field(std::string& out, std::string_view field);

}  // namespace rslicer
