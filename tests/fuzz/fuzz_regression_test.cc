// Replays every input the fuzzers found a bug with (kept in
// tests/fuzz_regressions/<target>/, one file per finding) through the same
// target functions libFuzzer calls (fuzz/<target>_fuzz.cc), without
// libFuzzer. The contract is the fuzzers': a reader may throw the project's
// exceptions, nothing else escapes, nothing crashes. The sanitizer build
// (scripts/sanitize.sh) runs this test under ASan + UBSan too, which also
// catches the memory errors the fixes removed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "test_util.h"

namespace rslicer::testing {
namespace {

struct Target {
  const char* name;
  int (*run)(const std::uint8_t*, std::size_t);
};

std::vector<Target> all_targets() {
  std::vector<Target> out;
#define RSLICER_LIST_FUZZ_TARGET(name) out.push_back({#name, &rslicer::fuzz::name});
  RSLICER_FOR_EACH_FUZZ_TARGET(RSLICER_LIST_FUZZ_TARGET)
#undef RSLICER_LIST_FUZZ_TARGET
  return out;
}

// gtest prints parameters in failure messages: the target's name, not its bytes.
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

class FuzzRegression : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzRegression, ReplaysFindings) {
  const Target& t = GetParam();
  const std::filesystem::path dir = std::filesystem::path(source_dir()) / "tests/fuzz_regressions" / t.name;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      t.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << path.string() << ": " << e.what();
    }
  }
  RecordProperty("inputs", static_cast<int>(files.size()));
}

// The empty input and a few bytes per target: the selector-byte handling.
TEST_P(FuzzRegression, TinyInputs) {
  const Target& t = GetParam();
  for (const std::string s : {"", "0", "7", "\xff", "0\n@@\n", "1{}"}) {
    EXPECT_NO_THROW(t.run(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())) << t.name << " on '" << s << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegression, ::testing::ValuesIn(all_targets()),
                         [](const ::testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace rslicer::testing
