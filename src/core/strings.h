// Small string helpers used by the readers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rslicer {

std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string to_lower(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char delim);

// Parses a finite or non-finite double ("NaN", "inf" accepted); nullopt when
// the text is not a number. Whitespace around the number is ignored.
std::optional<double> parse_double(std::string_view s);
std::optional<std::int64_t> parse_int(std::string_view s);

// Derives the service of a Kubernetes pod name by dropping the ReplicaSet
// hash and pod suffix ("ts-auth-service-7f8d7d756d-k7b9j" -> "ts-auth-service",
// "emailservice-0" -> "emailservice"). Names without such suffixes are kept.
std::string service_of_pod(std::string_view pod);

}  // namespace rslicer
