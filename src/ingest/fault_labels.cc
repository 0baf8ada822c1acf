#include "ingest/fault_labels.h"

#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/line_reader.h"
#include "core/strings.h"
#include "core/time.h"
#include "ingest/aiops22_shared.h"

namespace rslicer::ingest_detail {

namespace {

using nlohmann::json;

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// Start of a label: ISO-8601 / "YYYY-MM-DD HH:MM:SS" (UTC) text, or an epoch
// number (or numeric text) whose unit is guessed by magnitude.
std::optional<TimeUs> label_time(const json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return epoch_to_us(d, guess_epoch_unit(d));
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (auto t = parse_datetime(trim(s))) return t;
    if (auto d = parse_double(s); d && std::isfinite(*d)) return epoch_to_us(*d, guess_epoch_unit(*d));
  }
  return std::nullopt;
}

}  // namespace

std::optional<TimeUs> label_duration_us(const nlohmann::json& v) {
  const auto ds = v.is_number()   ? std::optional<double>(v.get<double>())
                  : v.is_string() ? parse_double(v.get_ref<const std::string&>())
                                  : std::nullopt;
  // Up to 1e12 s (31,700 years), so that start + duration cannot overflow (UBSan, fuzz/otlp_fuzz).
  if (!ds || !std::isfinite(*ds) || *ds < 0 || *ds > 1e12) return std::nullopt;
  return static_cast<TimeUs>(std::llround(*ds * 1e6));
}

bool is_fault_json_name(const std::string& path) {
  const std::string name = to_lower(std::filesystem::path(path).filename().string());
  return name == "faults.json" || name == "labels.json" || name == "faults.json.gz" || name == "labels.json.gz";
}

void read_fault_json(const std::string& path, double default_s, ParseStats& stats, std::vector<FaultEvent>& out) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const IoError& e) {
    stats.reject(path, 0, "unreadable_file", e.what());
    return;
  }
  ++stats.files_read;
  stats.bytes_read += static_cast<std::int64_t>(text.size());
  const json j = json::parse(text, nullptr, false);
  const json* list = &j;
  if (j.is_object()) list = member(j, "faults");
  if (j.is_discarded() || !list || !list->is_array()) {
    stats.reject(path, 0, "bad_json", "not a JSON array of faults (or an object with a \"faults\" array)");
    return;
  }
  size_t index = 0;
  for (const auto& e : *list) {
    ++index;
    auto bad = [&](const std::string& why) { stats.reject(path, 0, "bad_label", cat("fault ", index, ": ", why)); };
    if (!e.is_object()) {
      bad("not an object");
      continue;
    }
    FaultEvent ev;
    const json* start = member(e, "start");
    const auto t = start ? label_time(*start) : std::nullopt;
    if (!t) {
      bad("missing or invalid \"start\" (ISO-8601 text or epoch number)");
      continue;
    }
    ev.start = *t;
    if (const json* end = member(e, "end")) {
      const auto te = label_time(*end);
      if (!te || *te < ev.start) {
        bad("invalid \"end\" (not a time, or before start)");
        continue;
      }
      ev.end = *te;
    } else if (const json* d = member(e, "duration_s")) {
      const auto du = label_duration_us(*d);
      if (!du) {
        bad("invalid \"duration_s\"");
        continue;
      }
      ev.end = ev.start + *du;
    } else {
      ev.end = ev.start + static_cast<TimeUs>(std::llround(default_s * 1e6));
    }
    auto text_of = [&](const char* k) {
      const json* v = member(e, k);
      return v && v->is_string() ? v->get<std::string>() : std::string();
    };
    ev.level = to_lower(text_of("level"));
    ev.root_cause = text_of("root_cause");
    ev.fault_type = text_of("fault_type");
    if (ev.root_cause.empty()) {
      bad("missing \"root_cause\"");
      continue;
    }
    ev.source = cat(path, ": fault ", index);
    out.push_back(std::move(ev));
  }
}

std::filesystem::path case_folder(const std::filesystem::path& run_dir) {
  std::filesystem::path dir = run_dir.lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // a trailing '/'
  if (ingest_detail::all_digits(dir.filename().string()) && !dir.parent_path().filename().empty()) return dir.parent_path();
  return dir;
}

bool read_inject_time(const std::string& path, ParseStats& stats, TimeUs& out) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const IoError& e) {
    stats.reject(path, 0, "unreadable_file", e.what());
    return false;
  }
  ++stats.files_read;
  stats.bytes_read += static_cast<std::int64_t>(text.size());
  std::int64_t line_no = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    ++line_no;
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line_no == 1 && starts_with(line, "\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.empty()) continue;
    if (const auto d = parse_double(line); d && std::isfinite(*d) && *d > 0) {
      out = epoch_to_us(*d, guess_epoch_unit(*d));
      return true;
    }
    if (const auto t = parse_datetime(line)) {
      out = *t;
      return true;
    }
    stats.reject(path, line_no, "bad_time",
                 cat("injection time '", line, "' is neither a positive epoch number nor a date-time"));
    return false;
  }
  stats.reject(path, 1, "bad_time", "empty file: no injection time");
  return false;
}

bool read_folder_label(const std::string& inject_path, double duration_s, ParseStats& stats, FaultEvent& out) {
  TimeUs start = 0;
  if (!read_inject_time(inject_path, stats, start)) return false;
  const std::filesystem::path dir = case_folder(std::filesystem::path(inject_path).parent_path());
  const std::string name = dir.filename().string();
  const size_t us = name.rfind('_');
  if (us == std::string::npos || us == 0 || us + 1 == name.size()) {
    stats.reject(inject_path, 1, "bad_label",
                 cat("folder name '", name, "' is not <root_cause>_<fault_type>: no root cause for this injection"));
    return false;
  }
  out = FaultEvent{};
  out.start = start;
  out.end = start + static_cast<TimeUs>(std::llround(duration_s * 1e6));
  out.level = "service";
  out.root_cause = name.substr(0, us);
  out.fault_type = name.substr(us + 1);
  out.source = cat(inject_path, ":1");
  return true;
}

}  // namespace rslicer::ingest_detail
