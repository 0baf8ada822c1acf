#include "sim/log_templates.h"

#include <cstdio>

namespace rslicer::sim {

namespace {

const char* const kCities[] = {"shanghai", "beijing",      "nanjing",   "suzhou", "hangzhou", "wuxi",
                               "taiyuan",  "shijiazhuang", "zhenjiang", "jinan",  "xuzhou",   "tianjin"};
const char* const kTrainPrefix[] = {"G", "D", "Z", "K", "T"};
const char* const kNames[] = {
    "fdse_microservice", "admin", "alice", "bob",  "carol", "dave", "erin", "frank", "grace", "heidi",
    "mallory",           "oscar", "peggy", "trent"};
const char* const kExceptions[] = {
    "java.lang.NullPointerException: null",
    "java.lang.IllegalStateException: Entity state is invalid",
    "java.lang.ArithmeticException: / by zero",
    "java.lang.IndexOutOfBoundsException: Index: 3, Size: 3",
    "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
    "java.lang.NumberFormatException: For input string: \"null\"",
    "java.util.ConcurrentModificationException: null",
    "java.lang.ClassCastException: java.lang.String cannot be cast to java.lang.Integer",
};

void append_uuid(Rng& rng, std::string& out) {
  rng.append_hex(out, 8);
  out.push_back('-');
  rng.append_hex(out, 4);
  out.push_back('-');
  rng.append_hex(out, 4);
  out.push_back('-');
  rng.append_hex(out, 4);
  out.push_back('-');
  rng.append_hex(out, 12);
}

void append_int(std::string& out, long long v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%lld", v);
  out.append(buf, static_cast<size_t>(n));
}

void append_date(Rng& rng, std::string& out, bool with_time) {
  char buf[40];
  const int month = 1 + static_cast<int>(rng.below(12));
  const int day = 1 + static_cast<int>(rng.below(28));
  int n;
  if (with_time) {
    // one draw per statement: argument evaluation order is unspecified
    const int hour = static_cast<int>(rng.below(24));
    const int minute = static_cast<int>(rng.below(60));
    const int second = static_cast<int>(rng.below(60));
    n = std::snprintf(buf, sizeof buf, "2024-%02d-%02d %02d:%02d:%02d", month, day, hour, minute, second);
  } else {
    n = std::snprintf(buf, sizeof buf, "2024-%02d-%02d", month, day);
  }
  out.append(buf, static_cast<size_t>(n));
}

bool fill_one(std::string_view name, Rng& rng, std::string& out) {
  char buf[48];
  if (name == "uuid") {
    append_uuid(rng, out);
  } else if (name == "int") {
    append_int(out, rng.below(10));
  } else if (name == "count") {
    append_int(out, rng.below(200));
  } else if (name == "price") {
    const int n = std::snprintf(buf, sizeof buf, "%.1f", 5.0 * (1 + rng.below(200)) / 2.0);
    out.append(buf, static_cast<size_t>(n));
  } else if (name == "date") {
    append_date(rng, out, false);
  } else if (name == "datetime") {
    append_date(rng, out, true);
  } else if (name == "city") {
    out += kCities[rng.below(sizeof kCities / sizeof kCities[0])];
  } else if (name == "train") {
    out += kTrainPrefix[rng.below(5)];
    append_int(out, 1000 + rng.below(9000));
  } else if (name == "ms") {
    append_int(out, 1 + rng.below(999));
  } else if (name == "sec") {
    const int n = std::snprintf(buf, sizeof buf, "%.3f", rng.uniform(5, 40));
    out.append(buf, static_cast<size_t>(n));
  } else if (name == "bool") {
    out += rng.bernoulli(0.5) ? "true" : "false";
  } else if (name == "name") {
    out += kNames[rng.below(sizeof kNames / sizeof kNames[0])];
  } else if (name == "seat") {
    append_int(out, 1 + rng.below(2000000000));
  } else if (name == "ip") {
    const int subnet = static_cast<int>(rng.below(8));
    const int host = static_cast<int>(2 + rng.below(250));
    const int n = std::snprintf(buf, sizeof buf, "10.244.%d.%d", subnet, host);
    out.append(buf, static_cast<size_t>(n));
  } else if (name == "pid") {
    append_int(out, 10 + rng.below(30000));
  } else if (name == "kb") {
    append_int(out, 1000 + rng.below(900000));
  } else {
    return false;
  }
  return true;
}

}  // namespace

void fill_template(std::string_view text, Rng& rng, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      return;
    }
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      out.append(text.substr(i));
      return;
    }
    out.append(text.substr(i, open - i));
    if (!fill_one(text.substr(open + 1, close - open - 1), rng, out)) out.append(text.substr(open, close - open + 1));
    i = close + 1;
  }
}

std::string render_log(std::string_view location, std::string_view text, Rng& rng) {
  std::string out;
  out.reserve(location.size() + text.size() + 64);
  out.append(location);
  if (!location.empty()) out.push_back(' ');
  fill_template(text, rng, out);
  return out;
}

std::string_view exception_text(std::uint64_t index) {
  return kExceptions[index % (sizeof kExceptions / sizeof kExceptions[0])];
}

}  // namespace rslicer::sim
