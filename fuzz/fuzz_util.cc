#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_target.h"
#include "ingest/source.h"

namespace rslicer::fuzz {

namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path root;
  Scratch() {
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    root = base / ("rslicer-fuzz-" + std::to_string(::getpid()));
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

}  // namespace

std::string scratch_dir() {
  static Scratch scratch;
  std::error_code ec;
  fs::remove_all(scratch.root, ec);
  fs::create_directories(scratch.root);
  return scratch.root.string();
}

void write_file(const std::string& path, std::string_view bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void read_dataset(const std::string& dir, const char* format, bool strict) {
  try {
    ReadOptions options;
    options.strict = strict;
    options.parse_threads = 0;
    auto source = open_source(dir, format, options);
    source->faults();
    auto stream = source->open();
    Record r;
    while (stream->next(r)) {
    }
  } catch (const Error&) {
  }
}

}  // namespace rslicer::fuzz
