// Online log template mining after Drain (He et al., ICWS 2017): a fixed-depth
// prefix tree keyed by token count and the first tokens routes a message to a
// few candidate templates; the most similar one above `sim_threshold` absorbs
// it (differing positions become "<*>"), otherwise a new template starts.
// Template ids are dense, assigned in order of first appearance, so the same
// input order gives the same ids in every run; the miner is saved with the
// model (to_json / from_json) so inference maps lines to the training ids.
#pragma once

#include <array>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/config.h"

namespace rslicer {

struct DrainOptions {
  int depth = 4;                  // tree depth: root, token-count level, then depth-2 token levels
  double sim_threshold = 0.4;     // minimum share of equal tokens to join a template
  int max_children = 100;         // per tree node; further tokens go to the "<*>" child
  std::string extra_delimiters = "[](),;=";  // split on these as well as whitespace
  bool mask_variables = true;     // replace numbers, hex ids, UUIDs and IPs by "<*>" before matching
  static const config::Schema<DrainOptions>& schema();
};

struct LogTemplate {
  std::int32_t id = 0;
  std::vector<std::string> tokens;  // "<*>" for variable positions
  std::int64_t count = 0;           // messages absorbed
  std::vector<std::string> path;    // prefix-tree keys it was created under (persisted)
  std::string text() const;         // tokens joined by single spaces
};

class DrainMiner {
 public:
  explicit DrainMiner(DrainOptions options = {});
  ~DrainMiner();
  DrainMiner(DrainMiner&&) noexcept;
  DrainMiner& operator=(DrainMiner&&) noexcept;

  // Learns from a message and returns its template id.
  std::int32_t add(std::string_view message);
  // Finds the template of a message without learning; -1 when none is
  // similar enough.
  std::int32_t match(std::string_view message) const;

  const std::vector<LogTemplate>& templates() const { return templates_; }
  const DrainOptions& options() const { return options_; }

  // Tokens as the miner sees them (split and masked).
  std::vector<std::string> tokenize(std::string_view message) const;

  nlohmann::json to_json() const;
  static DrainMiner from_json(const nlohmann::json& j);  // throws InvalidInput on a malformed object

 private:
  struct Node;
  std::int32_t search(const std::vector<std::string>& tokens, Node** leaf_out, bool create,
                      std::vector<std::string>* path = nullptr);
  double similarity(const LogTemplate& t, const std::vector<std::string>& tokens, int* params) const;
  void insert(const LogTemplate& t);

  DrainOptions options_;
  std::array<bool, 256> delimiter_{};  // whitespace and options_.extra_delimiters, by byte
  std::unique_ptr<Node> root_;
  std::vector<LogTemplate> templates_;
};

// True for tokens that carry values rather than structure: numbers, hex
// strings of 8+ digits, UUIDs, IPv4 addresses, tokens mixing letters and digits.
bool is_variable_token(std::string_view token);

}  // namespace rslicer
