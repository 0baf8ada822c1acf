// Per-record problems: counted with file, line and reason, a few examples
// kept, never thrown (unless strict), never silently dropped.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rslicer {

struct ParseStats {
  std::int64_t rejected = 0;                     // records not used, for any reason
  std::map<std::string, std::int64_t> by_reason; // reason category -> count
  std::vector<std::string> examples;             // "file:line: reason", first max_examples
  std::int64_t files_read = 0;
  std::int64_t files_missing = 0;                // expected by a layout but absent
  std::int64_t bytes_read = 0;                   // uncompressed bytes
  bool strict = false;                           // throw InvalidInput on the first rejection
  static constexpr size_t max_examples = 20;

  // Records one rejected record. `category` is a short stable key
  // ("field_count", "bad_number", ...); `detail` the human message.
  void reject(const std::string& file, std::int64_t line, const std::string& category,
              const std::string& detail);
  // Records a non-fatal note about a file (absent modality, missing file).
  void note_missing(const std::string& what);
  std::vector<std::string> notes;                // first max_examples notes

  // Records a value that was unusable but recovered from another field of
  // the same record (for example an overflowed epoch with a valid ISO time):
  // counted by category, the record is kept, examples go to notes.
  void repair(const std::string& file, std::int64_t line, const std::string& category, const std::string& detail);
  std::map<std::string, std::int64_t> repaired;  // category -> count

  void merge(const ParseStats& other);
};

}  // namespace rslicer
