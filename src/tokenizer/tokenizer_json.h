// Reading tokenizer.json quickly: one SAX pass puts the two big parts,
// model.vocab (~150k entries) and model.merges (~150k pairs), straight into
// flat vectors; the rest of the document becomes a small nlohmann DOM.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rslicer {

struct TokenizerJsonParts {
  nlohmann::json rest;  // the document without model.vocab and model.merges
  bool has_vocab = false;                                   // model.vocab was an object
  std::vector<std::pair<std::string, std::int64_t>> vocab;  // token -> id, file order
  bool has_merges = false;                                  // model.merges was an array
  std::vector<std::pair<std::string, std::string>> merges;  // (left, right) by rank
};

// Throws InvalidInput (without the file name; the caller adds it) for bad
// JSON, a non-integer vocab id or a merge that is neither "a b" nor ["a", "b"].
TokenizerJsonParts parse_tokenizer_json(std::string_view text);

// Open-addressing map from strings to int32 ids (the vocabulary index).
class StringIdMap {
 public:
  void reserve(std::size_t n);
  // Inserts or overwrites.
  void set(std::string_view key, std::int32_t id);
  // The id, or -1.
  std::int32_t get(std::string_view key) const;
  std::size_t size() const { return keys_.size(); }

 private:
  static std::uint64_t hash(std::string_view s);
  void rehash(std::size_t capacity);
  std::vector<std::string> keys_;
  std::vector<std::int32_t> ids_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::int32_t> slots_;  // index into keys_, -1 when empty
  std::size_t mask_ = 0;
};

}  // namespace rslicer
