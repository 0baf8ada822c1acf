// Shared by the libFuzzer targets (fuzz/<name>_fuzz.cc, built with
// -DRSLICER_FUZZ=ON by scripts/fuzz.sh) and by the regression test that
// replays their findings in the normal build (tests/fuzz/). A target is a
// plain function rslicer::fuzz::<name>(data, size); only the fuzz build adds
// libFuzzer's entry point around it, so the test binary can hold all of
// them at once.
//
// The contract every target checks: a reader given any bytes either
// succeeds or throws one of the project's exception types (core/errors.h).
// Anything else (a crash, a sanitizer report, another exception such as
// std::bad_alloc or nlohmann::json's, a hang) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

// Every target, for the regression test (fuzz/CMakeLists.txt lists the
// same names).
#define RSLICER_FOR_EACH_FUZZ_TARGET(X) \
  X(csv) X(log_line) X(otlp) X(aiops22) X(nezha) X(wide) X(tokenizer_json) X(model_files)

namespace rslicer::fuzz {
#define RSLICER_DECLARE_FUZZ_TARGET(name) int name(const std::uint8_t* data, std::size_t size);
RSLICER_FOR_EACH_FUZZ_TARGET(RSLICER_DECLARE_FUZZ_TARGET)
#undef RSLICER_DECLARE_FUZZ_TARGET
}  // namespace rslicer::fuzz

#ifdef RSLICER_FUZZ_MAIN
#define RSLICER_FUZZ_ENTRY(name)                                                        \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    return rslicer::fuzz::name(data, size);                                             \
  }
#else
#define RSLICER_FUZZ_ENTRY(name)
#endif

// RSLICER_FUZZ_TARGET(csv) { ... body using data, size ... }
#define RSLICER_FUZZ_TARGET(name) \
  RSLICER_FUZZ_ENTRY(name)        \
  int rslicer::fuzz::name(const std::uint8_t* data, std::size_t size)

namespace rslicer::fuzz {

// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Mode selectors: the first byte of an input (or of a part) picks what the
// rest is. Counted from '0' so that the seed files stay readable text
// ("0{...}" is mode 0, "3..." mode 3).
inline unsigned selector(unsigned char c, unsigned modes) {
  return static_cast<unsigned char>(c - '0') % modes;
}

// Splits a multi-file input on lines holding "@@" (the file readers read
// folders: each part becomes one file). At most `max_parts`; the last part
// keeps the rest.
inline std::vector<std::string_view> split_parts(std::string_view text, std::size_t max_parts) {
  static constexpr std::string_view kSep = "\n@@\n";
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const auto at = text.find(kSep);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + kSep.size());
  }
  parts.push_back(text);
  return parts;
}

// An empty folder private to this process (in /dev/shm when it exists, so
// the readers' file I/O stays in memory), emptied on every call and removed
// at exit. The file readers need real files.
std::string scratch_dir();

// Writes `bytes` to `path`, creating its parent folders.
void write_file(const std::string& path, std::string_view bytes);

// Opens `dir` as `format` (one parsing thread, `strict` as given) and reads
// its labels and every record; the project's errors are the expected outcome
// of bad input and are swallowed, anything else escapes to the fuzzer.
void read_dataset(const std::string& dir, const char* format, bool strict);

}  // namespace rslicer::fuzz
