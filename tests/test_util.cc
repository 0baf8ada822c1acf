#include "test_util.h"

#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>
#include <mutex>
#include <sys/wait.h>
#include <unistd.h>

namespace rslicer::testing {

std::string source_dir() { return RSLICER_SOURCE_DIR; }
std::string shared_dir() { return RSLICER_SHARED_DIR; }
std::string binary_dir() { return RSLICER_BINARY_DIR; }
std::string trainticket_dir() { return shared_dir() + "/data/trainticket"; }
bool exists(const std::string& p) { return std::filesystem::exists(p); }

namespace {

// The folders make_temp_dir made, removed when the process that made them exits (a forked child's exit leaves
// them to its parent); RSLICER_KEEP_TEST_DIRS=1 keeps them for inspection.
class TempDirs {
 public:
  void add(const std::string& p) {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.push_back(p);
  }
  ~TempDirs() {
    if (getpid() != owner_) return;
    const char* keep = std::getenv("RSLICER_KEEP_TEST_DIRS");
    if (keep && *keep && std::string(keep) != "0") return;
    std::error_code ec;
    for (const auto& d : dirs_) std::filesystem::remove_all(d, ec);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
  pid_t owner_ = getpid();
};

TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto p = std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(rd()));
    if (std::filesystem::create_directories(p)) {
      temp_dirs().add(p.string());
      return p.string();
    }
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

namespace {

const char* kChromiumFlags =
    "timeout 90 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync";

double png_busy_fraction(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), {});
  if (data.size() <= 8 || data.compare(1, 3, "PNG") != 0) return -1;
  std::string idat;
  size_t pos = 8;
  while (pos + 8 <= data.size()) {
    std::uint32_t len = (static_cast<unsigned char>(data[pos]) << 24) | (static_cast<unsigned char>(data[pos + 1]) << 16) |
                        (static_cast<unsigned char>(data[pos + 2]) << 8) | static_cast<unsigned char>(data[pos + 3]);
    std::string type = data.substr(pos + 4, 4);
    if (type == "IDAT") idat += data.substr(pos + 8, len);
    pos += 12 + len;
  }
  std::vector<unsigned char> out(64 << 20);
  uLongf n = out.size();
  if (uncompress(out.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK || n == 0) return -1;
  size_t busy = 0;
  for (uLongf i = 0; i < n; ++i) busy += out[i] != 0 && out[i] != 255;
  return static_cast<double>(busy) / n;
}

}  // namespace

double chromium_screenshot_busy_fraction(const std::string& html_path, const std::string& png_path) {
  const std::string profile = make_temp_dir("rslicer_chromium");
  run_command(std::string(kChromiumFlags) + " --user-data-dir=" + profile + " --screenshot=" + png_path +
              " --window-size=1200,2000 file://" + html_path + " 2>&1");
  std::filesystem::remove_all(profile);
  return png_busy_fraction(png_path);
}

std::string chromium_dump_dom(const std::string& html_path) {
  const std::string profile = make_temp_dir("rslicer_chromium");
  const bool url = html_path.rfind("http://", 0) == 0;
  // a page that loads its content with scripts (the serve dashboard) gets virtual time to run them
  std::string dom = run_command(std::string(kChromiumFlags) + " --user-data-dir=" + profile +
                                (url ? " --virtual-time-budget=5000 --dump-dom " : " --dump-dom file://") + html_path +
                                " 2>/dev/null");
  std::filesystem::remove_all(profile);
  return dom;
}

}  // namespace rslicer::testing
