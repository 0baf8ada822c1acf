// Base64 (RFC 4648): the proto3 JSON form of bytes in OTLP, and the compact
// JSON form of float vectors in saved models (model heads, a stream's kNN
// references).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rslicer {

// Standard base64 with padding.
std::string base64_of(std::string_view bytes);
// Decodes base64 (standard or URL alphabet, padding optional); nullopt when invalid.
std::optional<std::string> bytes_of_base64(std::string_view text);

// A float vector as base64 of each value's IEEE-754 float32 bytes, little-endian whatever the machine (about 5.3
// characters a value, against about 21 for the shortest decimal of a float32 widened to double), and back;
// nullopt when the text is not base64 or its length is not whole floats.
std::string floats_to_base64(const std::vector<float>& v);
std::optional<std::vector<float>> floats_of_base64(std::string_view text);

}  // namespace rslicer
