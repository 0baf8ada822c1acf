// CSV splitting (core/csv.h): CsvReader over a file (plain or gzip, as the
// readers open them) and split_csv_line on each line. Input: one selector
// byte for the delimiter, then the file.
#include <string>

#include "core/csv.h"
#include "core/line_reader.h"
#include "fuzz_target.h"

RSLICER_FUZZ_TARGET(csv) {
  if (size == 0) return 0;
  static constexpr char kDelims[] = {',', '\t', ';', '|'};
  const char delim = kDelims[fuzz::selector(data[0], 4)];
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  const std::string path = fuzz::scratch_dir() + "/in.csv";
  fuzz::write_file(path, body);
  try {
    CsvReader csv(path, delim);
    std::vector<std::string_view> fields;
    std::size_t total = 0;
    while (csv.next(fields)) total += fields.size() + (csv.unterminated() ? 1 : 0);
    (void)total;
  } catch (const Error&) {
  }
  try {
    LineReader lines(path);
    std::string_view line;
    std::vector<std::string_view> fields;
    std::string storage;
    while (lines.next(line)) split_csv_line(line, delim, fields, storage);
  } catch (const Error&) {
  }
  return 0;
}
