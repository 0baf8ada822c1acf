// SimConfig validation and JSON (de)serialisation.
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/line_reader.h"
#include "sim/faults.h"
#include "sim/simulator.h"

namespace rslicer::sim {

const config::Schema<SimConfig>& SimConfig::schema() {
  using config::Range;
  static const auto s =
      config::Schema<SimConfig>()
          .num("services", &SimConfig::services, "services, including the gateway and the back ends",
               Range::closed(3, 1000))
          .num("hours", &SimConfig::hours, "simulated time span", Range::open_closed(0, 24 * 366))
          .num("faults", &SimConfig::faults, "injected faults, spread over the span without overlap",
               Range::at_least(0))
          .num("seed", &SimConfig::seed, "the output is a pure function of the config and this seed")
          .custom(
              "start", "first instant simulated (ISO-8601 string or epoch seconds)", "time",
              [](const SimConfig& c) { return config::Json(format_time(c.start)); },
              [](const config::Json& v, SimConfig& c, const std::string& path) {
                if (v.is_string()) {
                  const auto t = parse_datetime(v.get<std::string>());
                  if (!t) config::detail::bad_type(path, v, "an ISO-8601 time such as \"2024-01-01T00:00:00Z\"");
                  c.start = *t;
                } else if (v.is_number()) {
                  c.start = static_cast<TimeUs>(std::llround(v.get<double>() * kUsPerSecond));
                } else {
                  config::detail::bad_type(path, v, "an ISO-8601 string or epoch seconds");
                }
              })
          .num("metric_interval_s", &SimConfig::metric_interval_s, "one metric row per pod every interval",
               Range::closed(1, 3600))
          .num("requests_per_s", &SimConfig::requests_per_s, "mean request rate at the gateway over a day",
               Range::above(0))
          .num("daily_amplitude", &SimConfig::daily_amplitude, "relative amplitude of the daily traffic cycle",
               Range::closed(0, 0.95))
          .num("peak_hour_utc", &SimConfig::peak_hour_utc, "hour of day (UTC) of the traffic peak",
               Range::closed_open(0, 24))
          .num("traffic_noise", &SimConfig::traffic_noise, "sd of the slow multiplicative noise on the request rate",
               Range::closed(0, 2))
          .num("bursts_per_hour", &SimConfig::bursts_per_hour, "unlabelled load bursts expected per hour",
               Range::closed(0, 3))
          .num("trace_sample_rate", &SimConfig::trace_sample_rate, "head-sampling probability of a request's trace",
               Range::closed(0, 1))
          .num("log_rate", &SimConfig::log_rate, "share of per-request and housekeeping log lines kept",
               Range::closed(0, 1))
          .texts("fault_types", &SimConfig::fault_types, "types drawn round-robin (shuffled)")
          .texts("fault_services", &SimConfig::fault_services,
                 "restrict fault targets to these services; empty: any but the gateway")
          .num("fault_duration_s", &SimConfig::fault_duration_s, "length of each fault", Range::at_least(10))
          .num("fault_gap_s", &SimConfig::fault_gap_s, "minimum normal time before the first fault and between faults",
               Range::at_least(0))
          .num("fault_intensity", &SimConfig::fault_intensity, "scales the severity of every fault",
               Range::open_closed(0, 5))
          .num("network_delay_ms", &SimConfig::network_delay_ms, "network_delay: added to each response and call",
               Range::at_least(0))
          .num("packet_loss_rate", &SimConfig::packet_loss_rate, "packet_loss: loss probability per packet",
               Range::closed_open(0, 1))
          .num("pod_kill_down_s", &SimConfig::pod_kill_down_s, "pod_kill: seconds the pod is gone",
               Range::at_least(1))
          .num("max_retries", &SimConfig::max_retries, "client retries after connection errors and timeouts",
               Range::closed(0, 10))
          .num("max_replicas", &SimConfig::max_replicas, "replicas per application service: 1..max_replicas",
               Range::closed(1, 30))
          .num("pods_per_node", &SimConfig::pods_per_node, "node count = ceil(pods / pods_per_node), at least 2",
               Range::at_least(1))
          .num("threads", &SimConfig::threads, "worker threads (0: all cores); does not change the output",
               Range::at_least(0))
          .rule([](const SimConfig& c, const std::string& where) {
            const std::string key = where.empty() ? "fault_types" : where + ".fault_types";
            RSLICER_CHECK(c.faults == 0 || !c.fault_types.empty(), InvalidInput, key,
                          " is empty: at least one type is needed when faults > 0");
            for (const auto& t : c.fault_types) {
              if (!parse_fault_type(t)) {
                std::string known;
                for (const auto& k : all_fault_types()) known += (known.empty() ? "" : ", ") + k;
                throw InvalidInput(cat(key, " names an unknown type '", t, "' (known: ", known, ")"));
              }
            }
          });
  return s;
}

void validate(const SimConfig& c) { SimConfig::schema().validate(c); }

SimConfig parse_sim_config(const std::string& json_text, const std::string& origin) {
  config::Json doc;
  try {
    doc = config::Json::parse(json_text);
  } catch (const config::Json::parse_error& e) {
    throw InvalidInput(cat(origin, ": not valid JSON: ", e.what()));
  }
  try {
    return SimConfig::schema().from_json(doc);
  } catch (const InvalidInput& e) {
    throw InvalidInput(cat(origin, ": ", e.what()));
  }
}

SimConfig load_sim_config(const std::string& json_path) {
  return parse_sim_config(read_text_file(json_path), json_path);
}

std::string sim_config_to_json(const SimConfig& c) { return SimConfig::schema().to_json(c).dump(2); }

}  // namespace rslicer::sim
