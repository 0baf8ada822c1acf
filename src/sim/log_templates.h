// Filling log templates with realistic variable parts. A template is fixed
// text with placeholders:
//   {uuid} {int} {count} {price} {date} {datetime} {city} {train} {ms}
//   {sec} {bool} {name} {seat} {ip} {pid} {kb}
// Unknown placeholders are copied as they are.
#pragma once

#include <string>
#include <string_view>

#include "sim/rng.h"

namespace rslicer::sim {

// Appends `text` to `out` with every placeholder replaced by a fresh value.
void fill_template(std::string_view text, Rng& rng, std::string& out);

// "location text" with the placeholders filled (the message of a log record).
std::string render_log(std::string_view location, std::string_view text, Rng& rng);

// An exception class and message typical of Java services, chosen by index.
std::string_view exception_text(std::uint64_t index);

}  // namespace rslicer::sim
