#include "test_util.h"

#include <zlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <sys/wait.h>

namespace rslicer::testing {

std::string source_dir() { return RSLICER_SOURCE_DIR; }
std::string shared_dir() { return RSLICER_SHARED_DIR; }
std::string binary_dir() { return RSLICER_BINARY_DIR; }
std::string trainticket_dir() { return shared_dir() + "/data/trainticket"; }
bool exists(const std::string& p) { return std::filesystem::exists(p); }

std::string make_temp_dir(const std::string& prefix) {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto p = std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(rd()));
    if (std::filesystem::create_directories(p)) return p.string();
  }
  throw std::runtime_error("cannot create temp dir");
}

void write_file(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << content;
}

void write_gzip_file(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile gz = gzopen(path.c_str(), "wb");
  if (!gz) throw std::runtime_error("cannot write " + path);
  gzwrite(gz, content.data(), static_cast<unsigned>(content.size()));
  gzclose(gz);
}

std::string run_command(const std::string& command, int* exit_code) {
  std::array<char, 4096> buf;
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace rslicer::testing
