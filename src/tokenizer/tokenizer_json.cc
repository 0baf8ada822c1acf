#include "tokenizer/tokenizer_json.h"

#include <cstring>

#include "core/errors.h"
#include "core/hash.h"

namespace rslicer {

namespace {

using json = nlohmann::json;

// SAX handler: a DOM for everything except model.vocab / model.merges.
class TokenizerSax : public nlohmann::json_sax<json> {
 public:
  explicit TokenizerSax(TokenizerJsonParts& parts) : parts_(parts) {}

  bool null() override { return value(json()); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (in_vocab()) return vocab_id(v);
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (in_vocab()) return vocab_id(v > static_cast<number_unsigned_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(v));
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (in_vocab()) return fail(cat("model.vocab[\"", key_, "\"] is not an integer id: ", v));
    return value(json(v));
  }
  bool string(string_t& v) override {
    if (in_vocab()) return fail(cat("model.vocab[\"", key_, "\"] is not an integer id: \"", v, "\""));
    if (merges_depth_ == 1) {  // "left right"
      const std::size_t sp = v.find(' ');
      if (sp == std::string::npos)
        return fail(cat("model.merges[", parts_.merges.size(), "] has no space: \"", v, "\""));
      std::string right = v.substr(sp + 1);
      const std::size_t sp2 = right.find(' ');
      if (sp2 != std::string::npos) right.resize(sp2);  // as JS split(" ", 2)
      parts_.merges.emplace_back(v.substr(0, sp), std::move(right));
      return true;
    }
    if (merges_depth_ == 2) {  // ["left", "right"]
      pair_.push_back(std::move(v));
      return true;
    }
    return value(json(std::move(v)));
  }
  bool binary(binary_t& v) override { return value(json(v)); }

  bool start_object(std::size_t) override {
    if (merges_depth_ > 0) return fail(cat("model.merges[", parts_.merges.size(), "] is not a pair"));
    if (in_vocab()) return fail(cat("model.vocab[\"", key_, "\"] is not an integer id"));
    if (path_is({"", "model"}) && pending_key_ == "vocab") {
      vocab_depth_ = 1;
      parts_.has_vocab = true;
      path_.push_back("vocab");
      return true;
    }
    return open(json::object());
  }
  bool key(string_t& k) override {
    if (vocab_depth_ == 1) {
      key_ = std::move(k);
      return true;
    }
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    if (vocab_depth_ == 1) {
      vocab_depth_ = 0;
      path_.pop_back();
      return true;
    }
    return close();
  }
  bool start_array(std::size_t) override {
    if (in_vocab()) return fail(cat("model.vocab[\"", key_, "\"] is not an integer id"));
    if (merges_depth_ == 1) {
      merges_depth_ = 2;
      pair_.clear();
      return true;
    }
    if (merges_depth_ == 2) return fail(cat("model.merges[", parts_.merges.size(), "] is not a pair"));
    if (path_is({"", "model"}) && pending_key_ == "merges" && stack_.back()->is_object()) {
      merges_depth_ = 1;
      parts_.has_merges = true;
      path_.push_back("merges");
      return true;
    }
    return open(json::array());
  }
  bool end_array() override {
    if (merges_depth_ == 2) {
      if (pair_.size() != 2) return fail(cat("model.merges[", parts_.merges.size(), "] is not a pair"));
      parts_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      merges_depth_ = 1;
      return true;
    }
    if (merges_depth_ == 1) {
      merges_depth_ = 0;
      path_.pop_back();
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    if (error_.empty()) error_ = cat("not valid JSON (byte ", position, "): ", ex.what());
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool in_vocab() const { return vocab_depth_ == 1; }
  bool path_is(std::initializer_list<const char*> p) const {
    if (path_.size() != p.size()) return false;
    std::size_t k = 0;
    for (const char* e : p)
      if (path_[k++] != e) return false;
    return true;
  }
  bool fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }
  bool vocab_id(std::int64_t v) {
    if (v < 0 || v > INT32_MAX / 2) return fail(cat("model.vocab[\"", key_, "\"] is not a valid id: ", v));
    parts_.vocab.emplace_back(std::move(key_), v);
    return true;
  }
  // Places a scalar in the current container (or as the root).
  bool value(json v) {
    if (merges_depth_ > 0) return fail(cat("model.merges[", parts_.merges.size(), "] is not a pair"));
    if (stack_.empty()) {
      parts_.rest = std::move(v);
      return true;
    }
    json& top = *stack_.back();
    if (top.is_array()) top.push_back(std::move(v));
    else top[pending_key_] = std::move(v);
    return true;
  }
  bool open(json container) {
    json* slot;
    if (stack_.empty()) {
      parts_.rest = std::move(container);
      slot = &parts_.rest;
      path_.push_back("");
    } else {
      json& top = *stack_.back();
      if (top.is_array()) {
        top.push_back(std::move(container));
        slot = &top.back();
        path_.push_back("[]");
      } else {
        slot = &(top[pending_key_] = std::move(container));
        path_.push_back(pending_key_);
      }
    }
    stack_.push_back(slot);
    return true;
  }
  bool close() {
    stack_.pop_back();
    path_.pop_back();
    return true;
  }

  TokenizerJsonParts& parts_;
  std::vector<json*> stack_;
  std::vector<std::string> path_;  // keys from the root ("" for the root itself)
  std::string pending_key_;
  std::string key_;
  int vocab_depth_ = 0;
  int merges_depth_ = 0;
  std::vector<std::string> pair_;
  std::string error_;
};

}  // namespace

TokenizerJsonParts parse_tokenizer_json(std::string_view text) {
  TokenizerJsonParts parts;
  TokenizerSax sax(parts);
  const bool ok = json::sax_parse(text.begin(), text.end(), &sax);
  if (!ok || !sax.error().empty())
    throw InvalidInput(sax.error().empty() ? std::string("not valid JSON") : sax.error());
  return parts;
}

std::uint64_t StringIdMap::hash(std::string_view s) {
  return hash_mix(fnv1a(s, kFnvOffset ^ s.size()));
}

void StringIdMap::reserve(std::size_t n) {
  keys_.reserve(n);
  ids_.reserve(n);
  hashes_.reserve(n);
  std::size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap > slots_.size()) rehash(cap);
}

void StringIdMap::rehash(std::size_t capacity) {
  slots_.assign(capacity, -1);
  mask_ = capacity - 1;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    std::size_t i = hashes_[k] & mask_;
    while (slots_[i] >= 0) i = (i + 1) & mask_;
    slots_[i] = static_cast<std::int32_t>(k);
  }
}

void StringIdMap::set(std::string_view key, std::int32_t id) {
  if ((keys_.size() + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
  const std::uint64_t h = hash(key);
  std::size_t i = h & mask_;
  while (slots_[i] >= 0) {
    const auto k = static_cast<std::size_t>(slots_[i]);
    if (hashes_[k] == h && keys_[k] == key) {
      ids_[k] = id;
      return;
    }
    i = (i + 1) & mask_;
  }
  slots_[i] = static_cast<std::int32_t>(keys_.size());
  keys_.emplace_back(key);
  ids_.push_back(id);
  hashes_.push_back(h);
}

std::int32_t StringIdMap::get(std::string_view key) const {
  if (slots_.empty()) return -1;
  const std::uint64_t h = hash(key);
  std::size_t i = h & mask_;
  while (slots_[i] >= 0) {
    const auto k = static_cast<std::size_t>(slots_[i]);
    if (hashes_[k] == h && keys_[k] == key) return ids_[k];
    i = (i + 1) & mask_;
  }
  return -1;
}

}  // namespace rslicer
