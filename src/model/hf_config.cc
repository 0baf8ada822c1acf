#include "model/hf_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace rslicer {

using nlohmann::json;

namespace {

std::int64_t get_int(const json& j, const char* key, std::int64_t fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number_integer())
    throw ModelError(cat(where, ": \"", key, "\" must be an integer, got ", j[key].dump()));
  return j[key].get<std::int64_t>();
}

double get_double(const json& j, const char* key, double fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) throw ModelError(cat(where, ": \"", key, "\" must be a number, got ", j[key].dump()));
  return j[key].get<double>();
}

bool get_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw ModelError(cat(where, ": \"", key, "\" must be true or false, got ", j[key].dump()));
  return j[key].get<bool>();
}

std::string get_string(const json& j, const char* key, const std::string& fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw ModelError(cat(where, ": \"", key, "\" must be a string, got ", j[key].dump()));
  return j[key].get<std::string>();
}

void require_positive(std::int64_t v, const char* key, const std::string& where) {
  if (v <= 0) throw ModelError(cat(where, ": \"", key, "\" must be positive, got ", v));
}

}  // namespace

Qwen3Config parse_qwen3_config(const std::string& json_text, const std::string& where) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw ModelError(cat(where, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object()) throw ModelError(cat(where, ": config must be a JSON object"));
  Qwen3Config c;
  c.model_type = get_string(j, "model_type", c.model_type, where);
  if (c.model_type != "qwen3")
    throw ModelError(cat(where, ": model_type \"", c.model_type, "\" is not supported (expected \"qwen3\")"));
  c.vocab_size = get_int(j, "vocab_size", c.vocab_size, where);
  c.hidden_size = get_int(j, "hidden_size", c.hidden_size, where);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", c.num_hidden_layers, where);
  c.num_attention_heads = get_int(j, "num_attention_heads", c.num_attention_heads, where);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads, where);
  require_positive(c.hidden_size, "hidden_size", where);
  require_positive(c.num_attention_heads, "num_attention_heads", where);
  c.head_dim = get_int(j, "head_dim", c.hidden_size / c.num_attention_heads, where);
  c.intermediate_size = get_int(j, "intermediate_size", c.intermediate_size, where);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", c.rms_norm_eps, where);
  c.rope_theta = get_double(j, "rope_theta", c.rope_theta, where);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", c.max_position_embeddings, where);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", c.tie_word_embeddings, where);
  c.attention_bias = get_bool(j, "attention_bias", c.attention_bias, where);
  c.hidden_act = get_string(j, "hidden_act", c.hidden_act, where);
  c.torch_dtype = get_string(j, "torch_dtype", c.torch_dtype, where);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array() && !j["eos_token_id"].empty()) {
    // A list of ids: the first. Checked like get_int (a non-integer threw
    // json's type_error past every caller; tests/fuzz_regressions/model_files/).
    if (!j["eos_token_id"][0].is_number_integer())
      throw ModelError(cat(where, ": \"eos_token_id\" must hold integers, got ", j["eos_token_id"].dump()));
    c.eos_token_id = j["eos_token_id"][0].get<std::int64_t>();
  } else {
    c.eos_token_id = get_int(j, "eos_token_id", c.eos_token_id, where);
  }

  require_positive(c.vocab_size, "vocab_size", where);
  require_positive(c.num_hidden_layers, "num_hidden_layers", where);
  require_positive(c.num_key_value_heads, "num_key_value_heads", where);
  require_positive(c.head_dim, "head_dim", where);
  require_positive(c.intermediate_size, "intermediate_size", where);
  require_positive(c.max_position_embeddings, "max_position_embeddings", where);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw ModelError(cat(where, ": num_attention_heads ", c.num_attention_heads,
                         " is not a multiple of num_key_value_heads ", c.num_key_value_heads));
  if (c.head_dim % 2 != 0) throw ModelError(cat(where, ": head_dim ", c.head_dim, " must be even for rotary embeddings"));
  if (!(c.rms_norm_eps > 0)) throw ModelError(cat(where, ": rms_norm_eps must be positive, got ", c.rms_norm_eps));
  if (!(c.rope_theta > 0)) throw ModelError(cat(where, ": rope_theta must be positive, got ", c.rope_theta));
  if (c.hidden_act != "silu")
    throw ModelError(cat(where, ": hidden_act \"", c.hidden_act, "\" is not supported (only \"silu\")"));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const json& rs = j["rope_scaling"];
    const std::string type = rs.is_object() ? get_string(rs, "rope_type", get_string(rs, "type", "", where), where) : "";
    if (type != "default")
      throw ModelError(cat(where, ": rope_scaling ", rs.dump(), " is not supported (only null or default)"));
  }
  if (get_bool(j, "use_sliding_window", false, where))
    throw ModelError(cat(where, ": use_sliding_window=true is not supported"));
  // The sizes are only checked to be positive above: absurd ones (hidden_size
  // 2^40) overflow the int64 products of qwen3_parameter_count and of the
  // weight shapes built from them (tests/fuzz_regressions/model_files/). Counted
  // in double, which cannot overflow here; 10^15 parameters is far beyond
  // any checkpoint this code could load.
  const double h = static_cast<double>(c.hidden_size), d = static_cast<double>(c.head_dim);
  const double q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const double per_layer = 2 * h * q + 2 * h * kv + 3 * h * c.intermediate_size + 3 * h + 2 * d + q + 2 * kv;
  const double params = c.vocab_size * h + h + c.num_hidden_layers * per_layer;
  if (!(params < 1e15))
    throw ModelError(cat(where, ": the sizes (hidden_size ", c.hidden_size, ", vocab_size ", c.vocab_size,
                         ", num_hidden_layers ", c.num_hidden_layers, ", intermediate_size ", c.intermediate_size,
                         ", head_dim ", c.head_dim, ") give ", params, " parameters, more than 10^15"));
  return c;
}

Qwen3Config load_qwen3_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw IoError(cat(path, ": cannot open config"));
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_qwen3_config(ss.str(), path);
}

std::string qwen3_config_to_json(const Qwen3Config& c) {
  json j = {
      {"architectures", {"Qwen3ForCausalLM"}},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"intermediate_size", c.intermediate_size},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"max_position_embeddings", c.max_position_embeddings},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"attention_bias", c.attention_bias},
      {"hidden_act", c.hidden_act},
      {"torch_dtype", c.torch_dtype},
      {"eos_token_id", c.eos_token_id},
      {"rope_scaling", nullptr},
      {"use_sliding_window", false},
  };
  return j.dump(2);
}

std::int64_t qwen3_parameter_count(const Qwen3Config& c) {
  const std::int64_t h = c.hidden_size, d = c.head_dim;
  const std::int64_t q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  std::int64_t per_layer = h * q + 2 * h * kv + q * h   // q, k, v, o projections
                           + 3 * h * c.intermediate_size  // gate, up, down
                           + 2 * h + 2 * d;                 // input/post norms, q/k norms
  if (c.attention_bias) per_layer += q + 2 * kv + h;
  return c.vocab_size * h + c.num_hidden_layers * per_layer + h;
}

}  // namespace rslicer
