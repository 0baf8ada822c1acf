#include "core/parse_stats.h"

#include "core/errors.h"

namespace rslicer {

void ParseStats::reject(const std::string& file, std::int64_t line, const std::string& category,
                        const std::string& detail) {
  std::string where = line > 0 ? cat(file, ":", line, ": ", detail) : cat(file, ": ", detail);
  if (strict) throw InvalidInput(where + " (strict mode)");
  ++rejected;
  ++by_reason[category];
  if (examples.size() < max_examples) examples.push_back(std::move(where));
}

void ParseStats::note_missing(const std::string& what) {
  ++files_missing;
  if (notes.size() < max_examples) notes.push_back(what);
}

void ParseStats::repair(const std::string& file, std::int64_t line, const std::string& category,
                        const std::string& detail) {
  ++repaired[category];
  if (notes.size() < max_examples) notes.push_back(cat(file, ":", line, ": ", detail));
}

void ParseStats::merge(const ParseStats& o) {
  rejected += o.rejected;
  for (const auto& [k, v] : o.by_reason) by_reason[k] += v;
  for (const auto& e : o.examples)
    if (examples.size() < max_examples) examples.push_back(e);
  for (const auto& e : o.notes)
    if (notes.size() < max_examples) notes.push_back(e);
  for (const auto& [k, v] : o.repaired) repaired[k] += v;
  files_read += o.files_read;
  files_missing += o.files_missing;
  bytes_read += o.bytes_read;
}

}  // namespace rslicer
