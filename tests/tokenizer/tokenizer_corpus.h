// Deterministic text corpora for the tokenizer parity test and benchmark:
// serialised-telemetry-like lines, real Nezha log lines (when ../shared is
// present), numbers, whitespace runs, many scripts, emoji, combining marks,
// added tokens inline, contractions, invalid UTF-8 and lone surrogates.
// Header-only so bench/tokenizer_bench.cc can use it too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <utf8proc.h>

#include "core/line_reader.h"
#include "tokenizer/json_string.h"
#include "tokenizer/utf8.h"

namespace rslicer::testing {

// splitmix64: the same stream on every platform (std:: distributions are not).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  // Uniform in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }
  double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  bool chance(double p) { return uniform() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

 private:
  std::uint64_t state_;
};

// Assigned in utf8proc's Unicode tables (so its NFC knows the character).
inline bool is_known_to_utf8proc(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp)) != UTF8PROC_CATEGORY_CN;
}

inline std::string utf8_of(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

inline std::string format_number(SplitMix64& rng) {
  char buf[64];
  switch (rng.below(9)) {
    case 0: std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(rng.range(0, 100000))); break;
    case 1: std::snprintf(buf, sizeof(buf), "%.3f", rng.uniform() * 10); break;
    case 2: std::snprintf(buf, sizeof(buf), "%.1f%%", rng.uniform() * 300 - 100); break;
    case 3: std::snprintf(buf, sizeof(buf), "%+.0f%%", rng.uniform() * 900 - 100); break;
    case 4: std::snprintf(buf, sizeof(buf), "%.2e", rng.uniform() * 1e9); break;
    case 5: std::snprintf(buf, sizeof(buf), "%lldms", static_cast<long long>(rng.range(1, 30000))); break;
    case 6: std::snprintf(buf, sizeof(buf), "%.3fs", rng.uniform() * 5); break;
    case 7: std::snprintf(buf, sizeof(buf), "-%.4f", rng.uniform()); break;
    default: std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(rng.next() & 0xffffffff)); break;
  }
  return buf;
}

// One line of serialised telemetry, in the spirit of src/serialize's output.
inline std::string telemetry_line(SplitMix64& rng) {
  static const std::vector<std::string> services = {
      "ts-order-service", "ts-auth-service", "ts-payment-service", "ts-inside-payment-service",
      "ts-travel-service", "ts-ui-dashboard", "ts-gateway-service", "ts-route-service",
      "ts-basic-service", "ts-seat-service", "ts-config-service", "ts-preserve-service",
      "ts-food-service", "ts-station-service", "ts-ticketinfo-service", "ts-user-service",
      "frontend", "cartservice", "checkoutservice", "redis-cart", "mysql-0"};
  static const std::vector<std::string> kpis = {
      "cpu_usage", "memory_usage", "p99 latency", "p50 latency", "error_rate", "qps",
      "LatencyP95(s)", "SuccessRate(%)", "network_receive_bytes", "disk_io_wait", "gc_pause",
      "container_cpu_cfs_throttled_seconds_total", "jvm_threads_live"};
  static const std::vector<std::string> ops = {
      "GET /api/v1/travelservice/trips/left", "POST /api/v1/orderservice/order/refresh",
      "FilteringWebHandler.handle", "OrderServiceImpl.getOrderById", "/*", "mysql.query SELECT",
      "InsidePaymentController.pay", "redis GET", "HTTP POST /hipstershop.CartService/AddItem"};
  static const std::vector<std::string> trends = {"rising", "falling", "flat", "spiky", "recovering", "↑", "↓"};
  static const std::vector<std::string> levels = {"INFO", "WARN", "ERROR", "DEBUG", "FATAL"};
  static const std::vector<std::string> errors = {
      "java.net.SocketTimeoutException: Read timed out",
      "Connection refused (Connection refused)",
      "org.springframework.web.client.HttpServerErrorException: 500 Internal Server Error",
      "[Inside Payment Service.pay][Order status Not allowed to Pay]",
      "NullPointerException at com.trainticket.OrderServiceImpl.getOrderById(OrderServiceImpl.java:365)",
      "rpc error: code = Unavailable desc = connection error",
      "I/O error on GET request for \"http://ts-order-service:12031/api/v1/orderservice/order\""};
  const std::string& svc = rng.pick(services);
  const std::string& other = rng.pick(services);
  std::string s;
  switch (rng.below(8)) {
    case 0:
      s = svc + " " + rng.pick(kpis) + " " + format_number(rng) + " (" + format_number(rng) + " vs baseline)";
      break;
    case 1:
      s = "[metrics] " + svc + " " + rng.pick(kpis) + " level=" + format_number(rng) +
          " change=" + format_number(rng) + " trend=" + rng.pick(trends);
      break;
    case 2:
      s = "[traces] " + svc + " -> " + other + " " + rng.pick(ops) + " count=" +
          std::to_string(rng.range(1, 5000)) + " p50=" + format_number(rng) + " p95=" + format_number(rng) +
          " p99=" + format_number(rng) + " errors=" + std::to_string(rng.range(0, 40));
      break;
    case 3:
      s = "[logs] " + rng.pick(levels) + " x" + std::to_string(rng.range(1, 900)) + " " + svc +
          ": <*> " + rng.pick(errors);
      break;
    case 4:
      s = "{\"service\":\"" + svc + "\",\"kpi\":\"" + rng.pick(kpis) + "\",\"value\":" + format_number(rng) +
          ",\"anomaly\":" + (rng.chance(0.5) ? "true" : "false") + "}";
      break;
    case 5: {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "2023-01-%02d %02d:%02d:%02d.%03d", static_cast<int>(rng.range(1, 31)),
                    static_cast<int>(rng.range(0, 23)), static_cast<int>(rng.range(0, 59)),
                    static_cast<int>(rng.range(0, 59)), static_cast<int>(rng.range(0, 999)));
      s = std::string(buf) + " " + rng.pick(levels) + "  " + svc + " " + rng.pick(errors);
      break;
    }
    case 6:
      s = "window 2023-01-29T14:" + std::to_string(rng.range(10, 59)) + ":00Z entities=" +
          std::to_string(rng.range(1, 60)) + "\n  " + svc + "\t" + rng.pick(kpis) + "\t" + format_number(rng) +
          "\n  " + other + "\t" + rng.pick(kpis) + "\t" + format_number(rng);
      break;
    default:
      s = "pod " + svc + "-7f8d7d756d-k7b9j memory " + format_number(rng) + "MiB / 1GiB (" + format_number(rng) +
          "), restarts=" + std::to_string(rng.range(0, 9)) + "; it's " + rng.pick(trends);
  }
  return s;
}

// Up to `max_lines` raw lines plus their extracted "log" payloads from the
// Nezha TrainTicket log files under `trainticket_dir`; empty when absent.
inline std::vector<std::string> nezha_log_lines(const std::string& trainticket_dir, std::size_t max_lines) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const fs::path day = fs::path(trainticket_dir) / "nezha" / "rca_data" / "2023-01-29";
  std::error_code ec;
  if (!fs::is_directory(day, ec)) return out;
  std::vector<std::string> files;
  for (const char* sub : {"log", "trace", "metric"}) {
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(day / sub, ec)) in_dir.push_back(e.path().string());
    std::sort(in_dir.begin(), in_dir.end());
    for (std::size_t k = 0; k < in_dir.size() && k < (std::string(sub) == "log" ? 3u : 1u); ++k)
      files.push_back(in_dir[k]);
  }
  const std::size_t per_file = std::max<std::size_t>(1, max_lines / std::max<std::size_t>(1, files.size()));
  for (const std::string& file : files) {
    LineReader reader(file);
    std::string_view line;
    std::size_t taken = 0;
    while (taken < per_file && reader.next(line)) {
      out.emplace_back(line);
      ++taken;
      // The container's log message inside the CSV-quoted docker JSON.
      const std::string key = "\"\"log\"\":\"\"";
      const std::size_t a = line.find(key);
      if (a == std::string_view::npos) continue;
      const std::size_t b = line.find("\"\",\"\"stream", a);
      if (b == std::string_view::npos) continue;
      std::string payload(line.substr(a + key.size(), b - a - key.size()));
      std::string clean;
      for (std::size_t i = 0; i < payload.size(); ++i) {
        if (payload.compare(i, 2, "\\n") == 0) {
          clean.push_back('\n');
          ++i;
        } else if (payload.compare(i, 2, "\"\"") == 0) {
          clean.push_back('"');
          ++i;
        } else {
          clean.push_back(payload[i]);
        }
      }
      out.push_back(std::move(clean));
    }
  }
  return out;
}

// The parity corpus as JSON lines (one JSON string literal each). Most lines
// are json_quote() of byte strings (raw invalid UTF-8 kept raw); a few use
// \uD800-style escapes for lone surrogates.
inline std::vector<std::string> parity_corpus_jsonl(const std::string& trainticket_dir) {
  SplitMix64 rng(20240601);
  std::vector<std::string> strings;
  std::vector<std::string> lines;

  // Pieces reused below.
  const std::vector<std::string> words = {
      "the", "latency", "ERROR", "Timeout", "order", "service", "café", "naïve", "über", "Ärger",
      "Straße", "HTTP", "getOrderById", "x", "I", "a", "ts", "OK", "null", "NaN", "İstanbul", "ǅemal"};
  const std::vector<std::string> spaces = {
      " ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\t\t", "\v", "\f", "\xC2\xA0", "\xE3\x80\x80",
      "\xE2\x80\xA8", "\xE2\x80\xA9", "\xC2\x85", "\xEF\xBB\xBF", "\xE1\xA0\x8E", "\xE2\x80\x8B", "\xE2\x80\x83",
      "\xE2\x80\xAF", "   \n  ", " \r\n\t "};
  const std::vector<std::string> puncts = {
      ".", ",", "!", "?", "...", "->", "=>", "::", "()", "[]", "{}", "\"", "'", "`", "#", "$", "%", "&",
      "*", "+", "-", "/", "\\", "|", "~", "^", "@", "_", "<", ">", "；", "。", "、", "「", "」", "—", "…",
      "’", "“", "”", "«", "»", "¿", "¡", "§", "€", "£", "©", "°", "±", "×", "÷", "µ"};
  const std::vector<std::string> scripts = {
      "你好，世界", "服务延迟升高，错误率 12.5%", "订单服务 ts-order-service 超时", "日本語のテキストです。",
      "カタカナとひらがな", "한국어 텍스트입니다", "서비스 지연", "مرحبا بالعالم", "שלום עולם",
      "สวัสดีชาวโลก", "नमस्ते दुनिया", "Привет, мир! Ошибка сервиса", "Γειά σου Κόσμε", "Ελληνικά",
      "Tiếng Việt có dấu", "ქართული", "Հայերեն", "ᚠᛇᚻ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚𝟛", "①②③", "Ⅻ", "½¾",
      "٠١٢٣٤٥", "०१२३", "〇一二三", "𠀀𠀁𪜀", "ｆｕｌｌｗｉｄｔｈ", "ﬁﬂ", "Ⓐⓑ"};
  const std::vector<std::string> emoji = {
      "😀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇩🇪", "🇯🇵", "1️⃣", "#️⃣", "❤️", "☺︎", "🧑🏿‍🚀",
      "🔥🔥🔥", "✅", "❌", "⚠️", "🚨", "📈", "📉", "🐛", "🫠", "🫨", "🪿"};
  const std::vector<std::string> added = {
      "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
      "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
      "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
      "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>",
      "</tool_response>", "<think>", "</think>", "<|endoftext", "<|im_", "<think", "<<|im_start|>|>", "<|", "|>"};
  const std::vector<std::string> contractions = {
      "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'x", "''s",
      "'\xC5\xBF", "\xE2\x80\x99s", "'", "'  s", "n't", "'sss", "'lld"};
  const std::vector<char32_t> marks = {0x300, 0x301, 0x302, 0x303, 0x308, 0x30A, 0x323, 0x327, 0x328,
                                       0x331, 0x345, 0x1AB0, 0x20D0, 0x20E3, 0x302A, 0x3099, 0x309A, 0x5B0,
                                       0x64B, 0x93C, 0x94D, 0xE48, 0x200D, 0xFE0F, 0x1F3FB};

  auto word = [&] { return rng.pick(words); };

  // 1. Serialised telemetry.
  for (int i = 0; i < 3000; ++i) strings.push_back(telemetry_line(rng));
  // 2. Real log, trace and metric lines.
  for (auto& s : nezha_log_lines(trainticket_dir, 1800)) strings.push_back(std::move(s));
  // 3. Numbers.
  for (int i = 0; i < 600; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 5));
    for (int k = 0; k < n; ++k) {
      if (k) s += rng.pick(spaces);
      switch (rng.below(5)) {
        case 0: s += format_number(rng); break;
        case 1: for (int d = static_cast<int>(rng.range(5, 40)); d > 0; --d) s.push_back(static_cast<char>('0' + rng.below(10))); break;
        case 2: s += "192.168." + std::to_string(rng.below(256)) + "." + std::to_string(rng.below(256)) + ":" + std::to_string(rng.range(1, 65535)); break;
        case 3: s += "63caa659-77b1-4e30-8d10-" + std::to_string(rng.next() % 1000000000000ULL); break;
        default: s += std::to_string(rng.range(1, 9)) + "," + std::to_string(rng.range(100, 999)) + "," + std::to_string(rng.range(100, 999)); break;
      }
    }
    strings.push_back(s);
  }
  // 4. Whitespace runs around words and punctuation.
  for (int i = 0; i < 900; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 8));
    for (int k = 0; k < n; ++k) {
      const int reps = static_cast<int>(rng.range(1, 3));
      for (int r = 0; r < reps; ++r) s += rng.pick(spaces);
      switch (rng.below(3)) {
        case 0: s += word(); break;
        case 1: s += rng.pick(puncts); break;
        default: s += format_number(rng);
      }
    }
    if (rng.chance(0.5)) s += rng.pick(spaces);
    strings.push_back(s);
  }
  // 5. Scripts mixed with ASCII.
  for (int i = 0; i < 800; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 4));
    for (int k = 0; k < n; ++k) {
      if (k) s += rng.chance(0.7) ? " " : rng.pick(puncts);
      s += rng.chance(0.7) ? rng.pick(scripts) : word();
    }
    strings.push_back(s);
  }
  // 6. Emoji.
  for (int i = 0; i < 500; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 5));
    for (int k = 0; k < n; ++k) {
      if (rng.chance(0.5)) s += " ";
      s += rng.chance(0.6) ? rng.pick(emoji) : word();
    }
    strings.push_back(s);
  }
  // 7. Combining marks, decomposed Hangul, singletons (NFC changes them).
  for (int i = 0; i < 800; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 4));
    for (int k = 0; k < n; ++k) {
      if (k) s += " ";
      switch (rng.below(4)) {
        case 0: {
          s += rng.pick(std::vector<std::string>{"e", "a", "A", "o", "n", "c", "u", "i", "ω", "α", "ア", "か", "ก", "क"});
          for (int m = static_cast<int>(rng.range(1, 3)); m > 0; --m) s += utf8_of(rng.pick(marks));
          break;
        }
        case 1:  // conjoining jamo: L V (T)
          s += utf8_of(0x1100 + static_cast<char32_t>(rng.below(19)));
          s += utf8_of(0x1161 + static_cast<char32_t>(rng.below(21)));
          if (rng.chance(0.5)) s += utf8_of(0x11A8 + static_cast<char32_t>(rng.below(27)));
          break;
        case 2:
          s += rng.pick(std::vector<std::string>{"\xE2\x84\xAB", "\xE2\x84\xA6", "\xE2\x84\xAA", "\xE1\xBF\xAF",
                                                 "\xEF\xA4\x80", "\xCD\xB4", "\xCE\x87", "\xE2\x80\x80"});
          break;
        default:
          s += word();
          s += utf8_of(rng.pick(marks));
          s += utf8_of(rng.pick(marks));
      }
    }
    strings.push_back(s);
  }
  // 8. Added tokens inline.
  for (int i = 0; i < 700; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 6));
    for (int k = 0; k < n; ++k) {
      if (rng.chance(0.4)) s += rng.pick(spaces);
      s += rng.chance(0.5) ? rng.pick(added) : (rng.chance(0.5) ? word() : rng.pick(puncts));
    }
    strings.push_back(s);
  }
  strings.push_back("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
  strings.push_back("<|endoftext|><|endoftext|><|endoftext|>");
  // 9. Contractions.
  for (int i = 0; i < 500; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 4));
    for (int k = 0; k < n; ++k) {
      if (k) s += rng.chance(0.8) ? " " : rng.pick(spaces);
      s += rng.chance(0.2) ? "" : word();
      s += rng.pick(contractions);
      if (rng.chance(0.3)) s += word();
    }
    strings.push_back(s);
  }
  // 10. Invalid UTF-8.
  const std::vector<std::string> bad_bytes = {
      "\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xC2", "\xE0\x80\x80", "\xE0\xA0", "\xED\xA0\x80", "\xED\xBF\xBF",
      "\xF0\x80\x80\x80", "\xF0\x90\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFE", "\xFF", "\xE2\x82",
      "\xF0\x9F\x98", "\xC3\x28", "\xE2\x28\xA1", "\xF0\x28\x8C\xBC", "\xC2\xC2\xA0"};
  for (int i = 0; i < 800; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 5));
    for (int k = 0; k < n; ++k) {
      if (rng.chance(0.5)) s += rng.chance(0.5) ? word() : rng.pick(scripts);
      if (rng.chance(0.3)) s += " ";
      if (rng.chance(0.6)) {
        s += rng.pick(bad_bytes);
      } else {
        for (int b = static_cast<int>(rng.range(1, 4)); b > 0; --b) s.push_back(static_cast<char>(rng.range(0x80, 0xFF)));
      }
    }
    strings.push_back(s);
  }
  for (int b = 0x80; b < 0x100; ++b) strings.push_back(std::string("a") + static_cast<char>(b) + "b");
  // 11. Random code points: ASCII, BMP and astral characters that utf8proc
  // (Unicode 13) knows, so NFC agrees with node's ICU.
  for (int i = 0; i < 1000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng.range(1, 24));
    for (int k = 0; k < n; ++k) {
      char32_t cp;
      switch (rng.below(4)) {
        case 0: cp = static_cast<char32_t>(rng.range(0x20, 0x7E)); break;
        case 1: cp = static_cast<char32_t>(rng.range(0xA0, 0x24F)); break;
        case 2: cp = static_cast<char32_t>(rng.range(0x250, 0xFFFD)); break;
        default: cp = static_cast<char32_t>(rng.range(0x10000, 0x2FFFF)); break;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const std::string ch = utf8_of(cp);
      if (!is_known_to_utf8proc(cp)) continue;
      s += ch;
    }
    strings.push_back(s);
  }
  // 11b. Every code point utf8proc's NFC treats specially (non-zero combining
  // class, canonical decomposition, composition partner), after a base
  // letter, and the canonical decompositions of the precomposed ones.
  {
    std::vector<char32_t> special_cps;
    for (char32_t cp = 0xA0; cp < 0x30000; ++cp) {
      if ((cp >= 0xD800 && cp <= 0xDFFF) || !is_known_to_utf8proc(cp)) continue;
      const utf8proc_property_t* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
      const bool canonical_decomp = prop->decomp_seqindex != UINT16_MAX && prop->decomp_type == 0;
      if (prop->combining_class != 0 || canonical_decomp || prop->comb_index != UINT16_MAX)
        special_cps.push_back(cp);
    }
    for (std::size_t k = 0; k < special_cps.size(); k += 6) {
      std::string s = rng.pick(std::vector<std::string>{"a", "e", "o", " ", "x ", "\xE3\x81\x8B", "\xE0\xA4\x95"});
      for (std::size_t m = k; m < k + 6 && m < special_cps.size(); ++m) s += utf8_of(special_cps[m]);
      strings.push_back(s);
      // The NFD form of the same text.
      utf8proc_uint8_t* nfd = nullptr;
      const utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                                static_cast<utf8proc_ssize_t>(s.size()), &nfd,
                                                static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE));
      if (len > 0) strings.emplace_back(reinterpret_cast<const char*>(nfd), static_cast<std::size_t>(len));
      std::free(nfd);
    }
  }
  // 12. Letters and digits newer than PCRE2's Unicode tables (JS knows them).
  for (int i = 0; i < 100; ++i) {
    static const std::vector<std::pair<char32_t, char32_t>> fresh = {
        {0x31350, 0x323AF}, {0x2EBF0, 0x2EE5D}, {0x11F04, 0x11F10}, {0x1E4D0, 0x1E4EB},
        {0x1E4F0, 0x1E4F9}, {0x10D40, 0x10D49}, {0x323B0, 0x3347F}};
    const auto& r = rng.pick(fresh);
    std::string s = rng.chance(0.5) ? " " : "x";
    for (int k = static_cast<int>(rng.range(1, 6)); k > 0; --k)
      s += utf8_of(r.first + static_cast<char32_t>(rng.below(r.second - r.first + 1)));
    s += rng.chance(0.5) ? "1" : " end";
    strings.push_back(s);
  }
  // 13. Long strings: BPE's heap path and the regex on long runs.
  strings.push_back(std::string(3000, ' ') + "x");
  strings.push_back(std::string(5000, 'a'));
  strings.push_back(std::string(2000, '\n') + "\t\t");
  {
    std::string blob;
    for (int k = 0; k < 4000; ++k) blob.push_back("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[rng.below(64)]);
    strings.push_back(blob);
    std::string digits;
    for (int k = 0; k < 3000; ++k) digits.push_back(static_cast<char>('0' + rng.below(10)));
    strings.push_back(digits);
    std::string cjk;
    for (int k = 0; k < 2000; ++k) cjk += utf8_of(0x4E00 + static_cast<char32_t>(rng.below(0x5000)));
    strings.push_back(cjk);
    std::string punct;
    for (int k = 0; k < 2000; ++k) punct += rng.pick(puncts);
    strings.push_back(punct);
    std::string mixed;
    for (int k = 0; k < 300; ++k) mixed += telemetry_line(rng) + (rng.chance(0.5) ? "\n" : " ");
    strings.push_back(mixed);
  }
  for (int i = 0; i < 40; ++i) {
    std::string w;
    for (int k = static_cast<int>(rng.range(65, 400)); k > 0; --k) w.push_back(static_cast<char>('a' + rng.below(26)));
    strings.push_back(w);
  }
  // 14. Edge cases: empty, every ASCII character alone.
  strings.push_back("");
  for (int c = 0; c < 128; ++c) strings.push_back(std::string(1, static_cast<char>(c)));

  for (const std::string& s : strings) lines.push_back(json_quote(s));
  // 15. Lone surrogates and surrogate pairs as JSON escapes.
  const std::vector<std::string> escaped = {
      "\"\\ud800\"", "\"a\\ud800b\"", "\"\\udc00\"", "\"x\\udfff y\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
      "\"\\ud83d\\ud83d\\ude00\"", "\"\\ude00\\ud83d\"", "\"it\\u2019s \\u00e9\\u0301\"", "\"\\u0000a\\u001f\"",
      "\"hi \\ud800\\n\\udbff\\udfff\"", "\" \\ud800 \"", "\"\\ud800abc\\ud800\"", "\"e\\u0301\\ud800\\u0301\""};
  for (const auto& e : escaped) lines.push_back(e);
  return lines;
}

}  // namespace rslicer::testing
