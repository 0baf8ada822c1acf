#include "logparse/drain.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace rslicer {

namespace {
const std::string kWild = "<*>";
}

struct DrainMiner::Node {
  std::map<std::string, std::unique_ptr<Node>> children;  // ordered: deterministic iteration
  std::vector<std::int32_t> clusters;                      // at leaves
};

std::string LogTemplate::text() const {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) out.push_back(' ');
    out += tokens[i];
  }
  return out;
}

bool is_variable_token(std::string_view t) {
  if (t.empty()) return false;
  int digits = 0, alpha = 0, hex_alpha = 0, dots = 0, dashes = 0;
  for (char c : t) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= '0' && u <= '9') ++digits;  // ASCII classes, as std::isdigit/isalpha in the C locale
    else if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) {
      ++alpha;
      if ((u >= 'a' && u <= 'f') || (u >= 'A' && u <= 'F')) ++hex_alpha;
    } else if (c == '.') ++dots;
    else if (c == '-') ++dashes;
  }
  if (digits == 0) return false;
  // Any token with a digit counts as a value (Drain's "has numbers" rule),
  // except short identifiers like "v2" or "http2" where letters dominate.
  if (alpha > 0 && digits == 1 && alpha >= 3 && hex_alpha < alpha) return false;
  (void)dots;
  (void)dashes;
  return true;
}

const config::Schema<DrainOptions>& DrainOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<DrainOptions>("drain")
          .num("depth", &DrainOptions::depth, "tree depth: root, token-count level, then depth-2 token levels",
               Range::closed(3, 64))
          .num("sim_threshold", &DrainOptions::sim_threshold, "minimum share of equal tokens to join a template",
               Range::closed(0, 1))
          .num("max_children", &DrainOptions::max_children, "children per tree node; others go to the <*> child",
               Range::at_least(2))
          .text("extra_delimiters", &DrainOptions::extra_delimiters, "split on these as well as whitespace")
          .flag("mask_variables", &DrainOptions::mask_variables,
                "replace numbers, hex ids, UUIDs and IPs by <*> before matching");
  return s;
}

DrainMiner::DrainMiner(DrainOptions options) : options_(std::move(options)), root_(std::make_unique<Node>()) {
  DrainOptions::schema().validate(options_);
  for (unsigned char c : std::string_view(" \t\n\v\f\r")) delimiter_[c] = true;
  for (unsigned char c : options_.extra_delimiters) delimiter_[c] = true;
}
DrainMiner::~DrainMiner() = default;
DrainMiner::DrainMiner(DrainMiner&&) noexcept = default;
DrainMiner& DrainMiner::operator=(DrainMiner&&) noexcept = default;

std::vector<std::string> DrainMiner::tokenize(std::string_view message) const {
  std::vector<std::string> tokens;
  const size_t n = message.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && delimiter_[static_cast<unsigned char>(message[i])]) ++i;
    const size_t start = i;
    while (i < n && !delimiter_[static_cast<unsigned char>(message[i])]) ++i;
    if (i == start) break;
    const std::string_view token = message.substr(start, i - start);
    if (options_.mask_variables && is_variable_token(token)) tokens.emplace_back(kWild);
    else tokens.emplace_back(token);
  }
  return tokens;
}

double DrainMiner::similarity(const LogTemplate& t, const std::vector<std::string>& tokens, int* params) const {
  if (t.tokens.size() != tokens.size()) return -1;
  if (tokens.empty()) {
    *params = 0;
    return 1.0;
  }
  int same = 0, wild = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (t.tokens[i] == kWild) {
      ++wild;
      continue;
    }
    if (t.tokens[i] == tokens[i]) ++same;
  }
  *params = wild;
  return static_cast<double>(same) / static_cast<double>(tokens.size());
}

std::int32_t DrainMiner::search(const std::vector<std::string>& tokens, Node** leaf_out, bool create,
                               std::vector<std::string>* path) {
  Node* node = root_.get();
  const std::string len_key = std::to_string(tokens.size());
  auto step = [&](const std::string& key) -> Node* {
    auto it = node->children.find(key);
    if (it != node->children.end()) {
      if (path) path->push_back(key);
      return it->second.get();
    }
    if (!create) {
      auto w = node->children.find(kWild);
      return w == node->children.end() ? nullptr : w->second.get();
    }
    std::string k = key;
    if (static_cast<int>(node->children.size()) >= options_.max_children - 1 && k != kWild) k = kWild;
    auto& slot = node->children[k];
    if (!slot) slot = std::make_unique<Node>();
    if (path) path->push_back(k);
    return slot.get();
  };
  node = step(len_key);
  if (!node) return -1;
  const size_t levels = std::min(tokens.size(), static_cast<size_t>(options_.depth - 2));
  for (size_t i = 0; i < levels && node; ++i) {
    const std::string& tok = tokens[i];
    node = step(tok);
  }
  if (!node) return -1;
  if (leaf_out) *leaf_out = node;
  std::int32_t best = -1;
  double best_sim = -1;
  int best_params = -1;
  for (std::int32_t id : node->clusters) {
    int params = 0;
    const double sim = similarity(templates_[id], tokens, &params);
    if (sim > best_sim || (sim == best_sim && params > best_params)) {
      best_sim = sim;
      best_params = params;
      best = id;
    }
  }
  if (best >= 0 && best_sim >= options_.sim_threshold) return best;
  return -1;
}

std::int32_t DrainMiner::add(std::string_view message) {
  const std::vector<std::string> tokens = tokenize(message);
  Node* leaf = nullptr;
  std::vector<std::string> path;
  const std::int32_t found = search(tokens, &leaf, true, &path);
  if (found >= 0) {
    LogTemplate& t = templates_[found];
    for (size_t i = 0; i < tokens.size(); ++i)
      if (t.tokens[i] != tokens[i]) t.tokens[i] = kWild;
    ++t.count;
    return found;
  }
  LogTemplate t;
  t.id = static_cast<std::int32_t>(templates_.size());
  t.tokens = tokens;
  t.count = 1;
  t.path = std::move(path);
  templates_.push_back(std::move(t));
  leaf->clusters.push_back(templates_.back().id);
  return templates_.back().id;
}

std::int32_t DrainMiner::match(std::string_view message) const {
  const std::vector<std::string> tokens = tokenize(message);
  return const_cast<DrainMiner*>(this)->search(tokens, nullptr, false);
}

void DrainMiner::insert(const LogTemplate& t) {
  // Re-creates the tree path the template was created under.
  Node* node = root_.get();
  for (const auto& key : t.path) {
    auto& slot = node->children[key];
    if (!slot) slot = std::make_unique<Node>();
    node = slot.get();
  }
  node->clusters.push_back(t.id);
}

nlohmann::json DrainMiner::to_json() const {
  nlohmann::json j;
  j["options"] = {{"depth", options_.depth},
                  {"sim_threshold", options_.sim_threshold},
                  {"max_children", options_.max_children},
                  {"extra_delimiters", options_.extra_delimiters},
                  {"mask_variables", options_.mask_variables}};
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : templates_) arr.push_back({{"id", t.id}, {"tokens", t.tokens}, {"count", t.count}, {"path", t.path}});
  j["templates"] = arr;
  // The tree is stored as each template's creation path, which restores it exactly.
  return j;
}

DrainMiner DrainMiner::from_json(const nlohmann::json& j) {
  try {
    DrainOptions o;
    const auto& jo = j.at("options");
    o.depth = jo.at("depth").get<int>();
    o.sim_threshold = jo.at("sim_threshold").get<double>();
    o.max_children = jo.at("max_children").get<int>();
    o.extra_delimiters = jo.at("extra_delimiters").get<std::string>();
    o.mask_variables = jo.at("mask_variables").get<bool>();
    DrainMiner m(o);
    for (const auto& jt : j.at("templates")) {
      LogTemplate t;
      t.id = jt.at("id").get<std::int32_t>();
      t.tokens = jt.at("tokens").get<std::vector<std::string>>();
      t.count = jt.at("count").get<std::int64_t>();
      t.path = jt.at("path").get<std::vector<std::string>>();
      RSLICER_CHECK(t.id == static_cast<std::int32_t>(m.templates_.size()), InvalidInput,
                    "drain state: template ids must be dense and ordered, got id ", t.id, " at position ",
                    m.templates_.size());
      m.templates_.push_back(t);
      m.insert(m.templates_.back());
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(cat("drain state: malformed JSON object: ", e.what()));
  }
}

}  // namespace rslicer
