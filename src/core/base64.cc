#include "core/base64.h"

#include <cstdint>
#include <cstring>

namespace rslicer {

namespace {
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string base64_of(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kBase64[(v >> 18) & 63]);
    out.push_back(kBase64[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kBase64[v & 63] : '=');
  }
  return out;
}

std::optional<std::string> bytes_of_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const char* p = c == '-' ? kBase64 + 62 : c == '_' ? kBase64 + 63 : std::strchr(kBase64, c);
    if (!p || !*p) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string floats_to_base64(const std::vector<float>& v) {
  std::string bytes(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    std::uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int k = 0; k < 4; ++k) bytes[i * 4 + static_cast<size_t>(k)] = static_cast<char>((u >> (8 * k)) & 0xff);
  }
  return base64_of(bytes);
}

std::optional<std::vector<float>> floats_of_base64(std::string_view text) {
  const auto bytes = bytes_of_base64(text);
  if (!bytes || bytes->size() % 4 != 0) return std::nullopt;
  std::vector<float> v(bytes->size() / 4);
  for (size_t i = 0; i < v.size(); ++i) {
    std::uint32_t u = 0;
    for (int k = 0; k < 4; ++k)
      u |= static_cast<std::uint32_t>(static_cast<unsigned char>((*bytes)[i * 4 + static_cast<size_t>(k)])) << (8 * k);
    std::memcpy(&v[i], &u, 4);
  }
  return v;
}

}  // namespace rslicer
