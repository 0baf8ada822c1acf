// Error tiers (see docs/design.md):
//  1. assert() for programmer bugs;
//  2. typed exceptions below for bad input, files and configuration: the
//     message names the file, line and offending value;
//  3. per-record problems are counted in ParseStats (core/parse_stats.h), never
//     thrown, unless the user asked for --strict.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace rslicer {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad user data or configuration (exit code 2 in the CLI).
class InvalidInput : public Error {
 public:
  using Error::Error;
};

// A file that cannot be opened, read or written (exit code 3).
class IoError : public Error {
 public:
  using Error::Error;
};

// A model folder or checkpoint that is corrupted or incompatible (exit code 4).
class ModelError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void append_all(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append_all(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<<.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  detail::append_all(os, args...);
  return os.str();
}

}  // namespace rslicer

// Throws ExcType naming the failed expression plus a message built from the
// remaining arguments. For user input only; internal invariants use assert().
#define RSLICER_CHECK(cond, ExcType, ...)                                    \
  do {                                                                       \
    if (!(cond)) throw ExcType(::rslicer::cat(__VA_ARGS__));                 \
  } while (0)
