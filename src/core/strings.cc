#include "core/strings.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace rslicer {

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view x) {
  return s.size() >= x.size() && s.substr(s.size() - x.size()) == x;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char delim) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(delim, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  if (ec == std::errc::result_out_of_range && ptr == s.data() + s.size())
    return s.front() == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  const std::string l = to_lower(s);
  if (l == "nan" || l == "-nan") return std::numeric_limits<double>::quiet_NaN();
  if (l == "inf" || l == "infinity") return std::numeric_limits<double>::infinity();
  if (l == "-inf" || l == "-infinity") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  s = trim(s);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return v;
  return std::nullopt;
}

namespace {
// Kubernetes writes the random parts of pod names (the ReplicaSet's
// pod-template hash, the 5-character suffix) in an alphabet without vowels
// and without look-alike digits, so no word is ever spelled.
bool in_safe_alphabet(std::string_view s) {
  return !s.empty() && s.find_first_not_of("bcdfghjklmnpqrstvwxz2456789") == std::string_view::npos;
}
bool is_hexish_hash(std::string_view s) {
  // ReplicaSet pod-template hashes: 6-10 lowercase alphanumerics with a digit, or in Kubernetes' alphabet
  // (about 5 % of real hashes have no digit).
  if (s.size() < 6 || s.size() > 10) return false;
  if (in_safe_alphabet(s)) return true;
  bool digit = false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)))) return false;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  return digit;
}
bool is_pod_suffix(std::string_view s) {
  if (s.size() != 5) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)))) return false;
  return true;
}
bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}
}  // namespace

std::string service_of_pod(std::string_view pod) {
  auto parts = split(pod, '-');
  // Deployment pods: <service>-<rs hash>-<5 char suffix>
  if (parts.size() >= 3 && is_pod_suffix(parts.back()) && is_hexish_hash(parts[parts.size() - 2])) {
    parts.resize(parts.size() - 2);
  } else if (parts.size() >= 2 && all_digits(parts.back())) {
    // StatefulSet-style ordinal: <service>-<n>
    parts.pop_back();
  } else if (parts.size() >= 2 && parts.back().size() == 5 && in_safe_alphabet(parts.back())) {
    // DaemonSet (and bare ReplicaSet) pods: <name>-<5 char suffix>
    parts.pop_back();
  } else {
    return std::string(pod);
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back('-');
    out.append(parts[i]);
  }
  return out;
}

}  // namespace rslicer
