// SimConfig validation and JSON (de)serialisation.
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/line_reader.h"
#include "sim/faults.h"
#include "sim/simulator.h"

namespace rslicer::sim {

void validate(const SimConfig& c) {
  auto check = [](bool ok, const char* field, const auto& value, const char* want) {
    if (!ok) throw InvalidInput(cat("simulator config: ", field, " = ", value, " is out of range (", want, ")"));
  };
  check(c.services >= 3 && c.services <= 1000, "services", c.services, "3..1000");
  check(std::isfinite(c.hours) && c.hours > 0 && c.hours <= 24 * 366, "hours", c.hours, "> 0 and at most a year");
  check(c.faults >= 0, "faults", c.faults, ">= 0");
  check(c.metric_interval_s >= 1 && c.metric_interval_s <= 3600, "metric_interval_s", c.metric_interval_s, "1..3600");
  check(std::isfinite(c.requests_per_s) && c.requests_per_s > 0, "requests_per_s", c.requests_per_s, "> 0");
  check(c.daily_amplitude >= 0 && c.daily_amplitude <= 0.95, "daily_amplitude", c.daily_amplitude, "0..0.95");
  check(c.peak_hour_utc >= 0 && c.peak_hour_utc < 24, "peak_hour_utc", c.peak_hour_utc, "0..24");
  check(c.traffic_noise >= 0 && c.traffic_noise <= 2, "traffic_noise", c.traffic_noise, "0..2");
  check(c.bursts_per_hour >= 0 && c.bursts_per_hour <= 3, "bursts_per_hour", c.bursts_per_hour, "0..3");
  check(c.trace_sample_rate >= 0 && c.trace_sample_rate <= 1, "trace_sample_rate", c.trace_sample_rate, "0..1");
  check(c.log_rate >= 0 && c.log_rate <= 1, "log_rate", c.log_rate, "0..1");
  check(c.fault_duration_s >= 10, "fault_duration_s", c.fault_duration_s, ">= 10");
  check(c.fault_gap_s >= 0, "fault_gap_s", c.fault_gap_s, ">= 0");
  check(c.fault_intensity > 0 && c.fault_intensity <= 5, "fault_intensity", c.fault_intensity, "(0, 5]");
  check(c.network_delay_ms >= 0, "network_delay_ms", c.network_delay_ms, ">= 0");
  check(c.packet_loss_rate >= 0 && c.packet_loss_rate < 1, "packet_loss_rate", c.packet_loss_rate, "[0, 1)");
  check(c.pod_kill_down_s >= 1, "pod_kill_down_s", c.pod_kill_down_s, ">= 1");
  check(c.max_retries >= 0 && c.max_retries <= 10, "max_retries", c.max_retries, "0..10");
  check(c.max_replicas >= 1 && c.max_replicas <= 30, "max_replicas", c.max_replicas, "1..30");
  check(c.pods_per_node >= 1, "pods_per_node", c.pods_per_node, ">= 1");
  check(c.threads >= 0, "threads", c.threads, ">= 0");
  if (c.faults > 0) check(!c.fault_types.empty(), "fault_types", "[]", "at least one type when faults > 0");
  for (const auto& t : c.fault_types) {
    if (!parse_fault_type(t)) {
      std::string known;
      for (const auto& k : all_fault_types()) known += (known.empty() ? "" : ", ") + k;
      throw InvalidInput(cat("simulator config: fault_types names an unknown type '", t, "' (known: ", known, ")"));
    }
  }
}

namespace {

using Json = nlohmann::json;
using Setter = std::function<void(SimConfig&, const Json&)>;

template <typename T>
Setter number_setter(T SimConfig::*field) {
  return [field](SimConfig& c, const Json& v) {
    if (!v.is_number()) throw std::invalid_argument("a number");
    if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer() && !v.is_number_unsigned()) throw std::invalid_argument("an integer");
      if constexpr (std::is_unsigned_v<T>) {
        if (v.is_number_integer() && v.get<std::int64_t>() < 0) throw std::invalid_argument("a non-negative integer");
      }
    }
    c.*field = v.get<T>();
  };
}

Setter string_list_setter(std::vector<std::string> SimConfig::*field) {
  return [field](SimConfig& c, const Json& v) {
    if (!v.is_array()) throw std::invalid_argument("an array of strings");
    std::vector<std::string> out;
    for (const auto& x : v) {
      if (!x.is_string()) throw std::invalid_argument("an array of strings");
      out.push_back(x.get<std::string>());
    }
    c.*field = out;
  };
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> m = {
      {"services", number_setter(&SimConfig::services)},
      {"hours", number_setter(&SimConfig::hours)},
      {"faults", number_setter(&SimConfig::faults)},
      {"seed", number_setter(&SimConfig::seed)},
      {"start",
       [](SimConfig& c, const Json& v) {
         if (v.is_string()) {
           const auto t = parse_datetime(v.get<std::string>());
           if (!t) throw std::invalid_argument("an ISO-8601 time such as \"2024-01-01T00:00:00Z\"");
           c.start = *t;
         } else if (v.is_number()) {
           c.start = static_cast<TimeUs>(std::llround(v.get<double>() * kUsPerSecond));
         } else {
           throw std::invalid_argument("an ISO-8601 string or epoch seconds");
         }
       }},
      {"metric_interval_s", number_setter(&SimConfig::metric_interval_s)},
      {"requests_per_s", number_setter(&SimConfig::requests_per_s)},
      {"daily_amplitude", number_setter(&SimConfig::daily_amplitude)},
      {"peak_hour_utc", number_setter(&SimConfig::peak_hour_utc)},
      {"traffic_noise", number_setter(&SimConfig::traffic_noise)},
      {"bursts_per_hour", number_setter(&SimConfig::bursts_per_hour)},
      {"trace_sample_rate", number_setter(&SimConfig::trace_sample_rate)},
      {"log_rate", number_setter(&SimConfig::log_rate)},
      {"fault_types", string_list_setter(&SimConfig::fault_types)},
      {"fault_services", string_list_setter(&SimConfig::fault_services)},
      {"fault_duration_s", number_setter(&SimConfig::fault_duration_s)},
      {"fault_gap_s", number_setter(&SimConfig::fault_gap_s)},
      {"fault_intensity", number_setter(&SimConfig::fault_intensity)},
      {"network_delay_ms", number_setter(&SimConfig::network_delay_ms)},
      {"packet_loss_rate", number_setter(&SimConfig::packet_loss_rate)},
      {"pod_kill_down_s", number_setter(&SimConfig::pod_kill_down_s)},
      {"max_retries", number_setter(&SimConfig::max_retries)},
      {"max_replicas", number_setter(&SimConfig::max_replicas)},
      {"pods_per_node", number_setter(&SimConfig::pods_per_node)},
      {"threads", number_setter(&SimConfig::threads)},
  };
  return m;
}

}  // namespace

SimConfig parse_sim_config(const std::string& json_text, const std::string& origin) {
  Json doc;
  try {
    doc = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw InvalidInput(cat(origin, ": not valid JSON: ", e.what()));
  }
  RSLICER_CHECK(doc.is_object(), InvalidInput, origin, ": the simulator config must be a JSON object, got ",
                doc.type_name());
  SimConfig c;
  for (const auto& [key, value] : doc.items()) {
    const auto it = setters().find(key);
    if (it == setters().end()) {
      std::string known;
      for (const auto& [k, s] : setters()) known += (known.empty() ? "" : ", ") + k;
      throw InvalidInput(cat(origin, ": unknown key '", key, "' (known keys: ", known, ")"));
    }
    try {
      it->second(c, value);
    } catch (const std::invalid_argument& e) {
      throw InvalidInput(cat(origin, ": key '", key, "' must be ", e.what(), ", got ", value.dump()));
    } catch (const Json::exception& e) {
      throw InvalidInput(cat(origin, ": key '", key, "' has a bad value ", value.dump(), ": ", e.what()));
    }
  }
  try {
    validate(c);
  } catch (const InvalidInput& e) {
    throw InvalidInput(cat(origin, ": ", e.what()));
  }
  return c;
}

SimConfig load_sim_config(const std::string& json_path) {
  return parse_sim_config(read_text_file(json_path), json_path);
}

std::string sim_config_to_json(const SimConfig& c) {
  Json j;
  j["services"] = c.services;
  j["hours"] = c.hours;
  j["faults"] = c.faults;
  j["seed"] = c.seed;
  j["start"] = format_time(c.start);
  j["metric_interval_s"] = c.metric_interval_s;
  j["requests_per_s"] = c.requests_per_s;
  j["daily_amplitude"] = c.daily_amplitude;
  j["peak_hour_utc"] = c.peak_hour_utc;
  j["traffic_noise"] = c.traffic_noise;
  j["bursts_per_hour"] = c.bursts_per_hour;
  j["trace_sample_rate"] = c.trace_sample_rate;
  j["log_rate"] = c.log_rate;
  j["fault_types"] = c.fault_types;
  j["fault_services"] = c.fault_services;
  j["fault_duration_s"] = c.fault_duration_s;
  j["fault_gap_s"] = c.fault_gap_s;
  j["fault_intensity"] = c.fault_intensity;
  j["network_delay_ms"] = c.network_delay_ms;
  j["packet_loss_rate"] = c.packet_loss_rate;
  j["pod_kill_down_s"] = c.pod_kill_down_s;
  j["max_retries"] = c.max_retries;
  j["max_replicas"] = c.max_replicas;
  j["pods_per_node"] = c.pods_per_node;
  j["threads"] = c.threads;
  return j.dump(2);
}

}  // namespace rslicer::sim
