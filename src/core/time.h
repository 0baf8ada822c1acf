// One clock for all telemetry: int64 microseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rslicer {

using TimeUs = std::int64_t;  // microseconds since 1970-01-01T00:00:00Z

constexpr TimeUs kUsPerSecond = 1000000;
constexpr TimeUs kUsPerMinute = 60 * kUsPerSecond;

// Unit of an integer epoch timestamp.
enum class EpochUnit { kSeconds, kMillis, kMicros, kNanos };

// Guesses the unit of an epoch value by magnitude (valid for dates between
// 1973 and 2286): < 1e10 seconds, < 1e13 ms, < 1e16 us, else ns.
EpochUnit guess_epoch_unit(double value);
TimeUs epoch_to_us(double value, EpochUnit unit);

// Parses "YYYY-MM-DD HH:MM:SS[.fff...]" or ISO-8601 "YYYY-MM-DDTHH:MM:SS[.f][Z|+hh:mm]"
// and, when allow_trailing is set, ignores anything after the seconds and
// fraction (for example " +0000 UTC m=+0.54"). Times without an offset are UTC.
std::optional<TimeUs> parse_datetime(std::string_view text, bool allow_trailing = false);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

// "2023-01-29T08:43:04Z" (fraction printed only when non-zero).
std::string format_time(TimeUs t);

}  // namespace rslicer
