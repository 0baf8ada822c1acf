// Helpers of the reader tests: every record of a source, and those of one type.
#pragma once

#include <variant>
#include <vector>

#include "telemetry/stream.h"

namespace rslicer::testing {

inline std::vector<Record> drain(TelemetrySource& src) {
  std::vector<Record> out;
  auto stream = src.open();
  Record r;
  while (stream->next(r)) out.push_back(r);
  return out;
}

template <typename T>
std::vector<T> only(const std::vector<Record>& rs) {
  std::vector<T> out;
  for (const auto& r : rs)
    if (std::holds_alternative<T>(r)) out.push_back(std::get<T>(r));
  return out;
}

}  // namespace rslicer::testing
