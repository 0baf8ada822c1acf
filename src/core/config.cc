#include "core/config.h"

#include <fstream>
#include <sstream>

namespace rslicer::config {

namespace {

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

bool Range::contains(double v) const {
  if (std::isnan(v)) return false;
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

std::string Range::text() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return cat(lo_open ? "(" : "[", number_text(lo), ", ", number_text(hi), hi_open ? ")" : "]");
  if (has_lo) return cat(lo_open ? "> " : ">= ", number_text(lo));
  if (has_hi) return cat(hi_open ? "< " : "<= ", number_text(hi));
  return "";
}

std::string json_text(const Json& v) {
  std::string s = v.dump();
  return s.size() > 200 ? s.substr(0, 197) + "..." : s;
}

namespace detail {

void bad_type(const std::string& path, const Json& v, const char* want) {
  // A lone word where a list is wanted is most often `--set key=word`: show the list's spelling.
  const bool lone_item = std::string_view(want) == "an array of strings" && v.is_string();
  const std::string hint = lone_item ? cat("; e.g. --set '", path, "=[", json_text(v), "]'") : std::string();
  throw InvalidInput(cat("bad value for '", path, "' in config: ", json_text(v), " (must be ", want, hint, ")"));
}

void out_of_range(const std::string& path, const std::string& value, const std::string& allowed) {
  throw InvalidInput(cat("config value '", path, "' = ", value, " is out of range (allowed: ", allowed, ")"));
}

}  // namespace detail

Json parse_value(const std::string& text) {
  Json v = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded() || v.is_object()) return Json(text);
  return v;
}

Json load_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(cat("cannot open config file ", path));
  try {
    return Json::parse(in);
  } catch (const Json::parse_error& e) {
    throw InvalidInput(cat(path, ": not valid JSON: ", e.what()));
  }
}

}  // namespace rslicer::config
