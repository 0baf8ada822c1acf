#include "core/time.h"

#include <cmath>
#include <cstdio>

namespace rslicer {

EpochUnit guess_epoch_unit(double value) {
  const double a = std::fabs(value);
  if (a < 1e10) return EpochUnit::kSeconds;
  if (a < 1e13) return EpochUnit::kMillis;
  if (a < 1e16) return EpochUnit::kMicros;
  return EpochUnit::kNanos;
}

namespace {
// Clamped to +-2^61 us (73,000 years): llround of a value beyond int64 is
// unspecified (LLONG_MIN on x86), and the readers subtract and add times, so
// "1e300" as nanoseconds overflowed there (UBSan; tests/fuzz_regressions/aiops22/).
// Within the clamp, differences and sums with a duration still fit int64.
TimeUs round_us(double us) {
  constexpr double kMax = 0x1p61;
  return static_cast<TimeUs>(std::llround(us < -kMax ? -kMax : us > kMax ? kMax : us));
}
}  // namespace

TimeUs epoch_to_us(double value, EpochUnit unit) {
  switch (unit) {
    case EpochUnit::kSeconds: return round_us(value * 1e6);
    case EpochUnit::kMillis: return round_us(value * 1e3);
    case EpochUnit::kMicros: return round_us(value);
    case EpochUnit::kNanos: return round_us(value / 1e3);
  }
  return 0;
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {
bool read_digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}
bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}
}  // namespace

std::optional<TimeUs> parse_datetime(std::string_view s, bool allow_trailing) {
  size_t p = 0;
  int Y, M, D, h, m, sec;
  if (!read_digits(s, p, 4, Y) || !expect(s, p, '-') || !read_digits(s, p, 2, M) ||
      !expect(s, p, '-') || !read_digits(s, p, 2, D))
    return std::nullopt;
  if (!(expect(s, p, ' ') || expect(s, p, 'T'))) return std::nullopt;
  if (!read_digits(s, p, 2, h) || !expect(s, p, ':') || !read_digits(s, p, 2, m) ||
      !expect(s, p, ':') || !read_digits(s, p, 2, sec))
    return std::nullopt;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  TimeUs frac_us = 0;
  if (expect(s, p, '.') || expect(s, p, ',')) {
    int digits = 0;
    TimeUs scale = 100000;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (digits < 6) frac_us += (s[p] - '0') * scale;
      scale /= 10;
      ++digits;
      ++p;
    }
    if (digits == 0) return std::nullopt;
  }
  TimeUs offset_us = 0;
  if (expect(s, p, 'Z')) {
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-') && !allow_trailing) {
    const int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int oh = 0, om = 0;
    if (!read_digits(s, p, 2, oh)) return std::nullopt;
    expect(s, p, ':');
    if (p < s.size() && !read_digits(s, p, 2, om)) return std::nullopt;
    offset_us = sign * (oh * 3600 + om * 60) * kUsPerSecond;
  }
  if (p != s.size() && !allow_trailing) return std::nullopt;
  const std::int64_t days = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
  const std::int64_t secs = days * 86400 + h * 3600 + m * 60 + sec;
  return secs * kUsPerSecond + frac_us - offset_us;
}

std::string format_time(TimeUs t) {
  std::int64_t secs = t / kUsPerSecond;
  std::int64_t frac = t % kUsPerSecond;
  if (frac < 0) {
    frac += kUsPerSecond;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Hinnant)
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                  static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                  static_cast<long long>(rem % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y), m,
                  d, static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                  static_cast<long long>(rem % 60), static_cast<long long>(frac));
  }
  return buf;
}

}  // namespace rslicer
