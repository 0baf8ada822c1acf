#include "data_path.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/strings.h"

namespace rslicer::cli {

bool data_from_environment() {
  const char* env = std::getenv("RSLICER_DATA");
  return env && *env;
}

std::string default_data_path() {
  namespace fs = std::filesystem;
  if (data_from_environment()) return std::getenv("RSLICER_DATA");
  const fs::path rel = fs::path("data") / "trainticket-sample";
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::string tried;
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / rel)) return (dir / rel).string();
    tried += " " + (dir / rel).string();
    if (dir == dir.root_path()) break;
  }
  if (fs::is_directory(rel)) return rel.string();
  throw InvalidInput(cat("no --data given and the bundled sample was not found (looked in $RSLICER_DATA,", tried,
                         ", ./", rel.string(), ")"));
}

std::string read_token_file(const std::string& path) {
  std::ifstream f(path);
  RSLICER_CHECK(f.good(), IoError, "cannot read the token file ", path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string token(trim(ss.str()));
  RSLICER_CHECK(!token.empty(), InvalidInput, "the token file ", path, " is empty");
  return token;
}

}  // namespace rslicer::cli
