#include "sim/topology.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/errors.h"
#include "sim/rng.h"
#include "sim/simulator.h"

namespace rslicer::sim {

const std::vector<std::string>& nezha_kpis() {
  static const std::vector<std::string> kpis = {"CpuUsage(m)",
                                                "CpuUsageRate(%)",
                                                "MemoryUsage(Mi)",
                                                "MemoryUsageRate(%)",
                                                "SyscallRead",
                                                "SyscallWrite",
                                                "NetworkReceiveBytes",
                                                "NetworkTransmitBytes",
                                                "PodClientLatencyP90(s)",
                                                "PodServerLatencyP90(s)",
                                                "PodClientLatencyP95(s)",
                                                "PodServerLatencyP95(s)",
                                                "PodClientLatencyP99(s)",
                                                "PodServerLatencyP99(s)",
                                                "PodWorkload(Ops)",
                                                "PodSuccessRate(%)",
                                                "NodeCpuUsageRate(%)",
                                                "NodeMemoryUsageRate(%)",
                                                "NodeNetworkReceiveBytes"};
  return kpis;
}

namespace {

// Domain nouns of application services, in the order they are used.
const char* const kNouns[] = {
    "order",        "user",     "auth",    "payment",    "cart",    "catalog",   "inventory",    "shipping",
    "price",        "route",    "station", "train",      "seat",    "travel",    "notification", "recommendation",
    "search",       "review",   "config",  "contacts",   "food",    "delivery",  "assurance",    "security",
    "verification", "coupon",   "account", "invoice",    "refund",  "ticket",    "schedule",     "basic",
    "consign",      "rebook",   "media",   "profile",    "rating",  "wallet",    "loyalty",      "promotion",
    "tax",          "currency", "fraud",   "audit",      "report",  "analytics", "feedback",     "message",
    "email",        "sms",      "session", "preference", "address", "warehouse", "supplier",     "billing",
    "subscription", "geo",      "weather", "product"};
constexpr int kNumNouns = sizeof(kNouns) / sizeof(kNouns[0]);

struct Action {
  const char* verb;
  const char* method;  // with {N}
  const char* path;    // with {n}
};
const Action kActions[] = {
    {"GET", "get{N}ById", "/api/v1/{n}service/{n}s/id"},
    {"GET", "query{N}s", "/api/v1/{n}service/{n}s"},
    {"POST", "create{N}", "/api/v1/{n}service/{n}s"},
    {"PUT", "update{N}", "/api/v1/{n}service/{n}s"},
    {"POST", "check{N}", "/api/v1/{n}service/{n}s/check"},
    {"DELETE", "delete{N}", "/api/v1/{n}service/{n}s/id"},
    {"GET", "list{N}sByDate", "/api/v1/{n}service/{n}s/date"},
    {"POST", "calculate{N}", "/api/v1/{n}service/{n}s/calculate"},
};
constexpr int kNumActions = sizeof(kActions) / sizeof(kActions[0]);

const char* const kGetInfo[] = {
    "[{m}][Get {n} by id][{N}Id: {uuid}]",
    "[{m}][Query {n} success][{N}(id={uuid}, name={name}, status={int})]",
    "[{m}][Find {n}s][size: {count}]",
    "[{m}][Query {n}s by date][date: {date}, from: {city}, to: {city}]",
    "[{m}][Response][Response(status=1, msg=Success, data={N}(id={uuid}, price={price}))]",
    "[{m}][Query {n} for trip][tripId: {train}, date: {date}]",
};
const char* const kPostInfo[] = {
    "[{m}][Create {n}][{N}Id: {uuid}, accountId: {uuid}]",
    "[{m}][Create {n} success][{N}Id: {uuid}, price: {price}]",
    "[{m}][Check {n} info][trainNumber: {train}, seatNumber: {seat}]",
    "[{m}][{N} saved][id: {uuid}, createdAt: {datetime}]",
    "[{m}][Calculate {n}][distance: {count} km, time: {ms} ms]",
};
const char* const kPutInfo[] = {
    "[{m}][Update {n}][{N}Id: {uuid}, status: {int}]",
    "[{m}][Delete {n}][{N}Id: {uuid}]",
    "[{m}][Update {n} success][rows affected: {int}]",
    "[{m}][Modify {n} info][{N}Id: {uuid}, operator: {name}]",
};
const char* const kWarn[] = {
    "[{m}][{N} not found][{N}Id: {uuid}]",
    "[{m}][{N} list is empty][date: {date}, trainNumber: {train}]",
    "[{m}][Invalid {n} parameter][field: {name}, value: {int}]",
    "[{m}][{N} already exists][{N}Id: {uuid}]",
};
const char* const kError[] = {
    "[{m}][{N} operation failed][Response(status=0, msg={N} not exist, data=null)]",
    "[{m}][Save {n} failed][Response(status=0, msg=Duplicate entry {uuid}, data=null)]",
    "[{m}][Get {n} failed][Response(status=0, msg=No content, data=null)]",
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

std::string camel(const std::string& noun) {
  std::string out;
  bool up = true;
  for (char c : noun) {
    if (c == '-') {
      up = true;
      continue;
    }
    out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    up = false;
  }
  return out;
}

std::string pod_hash(Rng& rng, int n, bool need_digit) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  for (;;) {
    std::string s;
    bool digit = false;
    for (int i = 0; i < n; ++i) {
      const char c = kAlphabet[rng.below(27)];
      digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
      s.push_back(c);
    }
    if (digit || !need_digit) return s;
  }
}

double pick(Rng& rng, std::initializer_list<double> options) {
  const auto i = rng.below(static_cast<std::int64_t>(options.size()));
  return *(options.begin() + i);
}

LogTemplate make_log(const std::string& location, const char* text, const std::string& method,
                     const std::string& noun) {
  std::string t = replace_all(text, "{m}", method);
  t = replace_all(t, "{N}", camel(noun));
  t = replace_all(t, "{n}", noun);
  return LogTemplate{location, t};
}

struct BackendEndpoints {
  std::int32_t read = -1, write = -1, update = -1;
};

}  // namespace

Topology build_topology(const SimConfig& config, Catalog& catalog) {
  Rng rng(stream_key(config.seed, kStreamTopology));
  Topology topo;
  const int n = config.services;

  // --- services -----------------------------------------------------------
  std::vector<std::pair<std::string, ServiceKind>> backends;
  backends.emplace_back("mysql", ServiceKind::kDatabase);
  if (n >= 4) backends.emplace_back("redis", ServiceKind::kCache);
  if (n >= 16) backends.emplace_back("mongodb", ServiceKind::kDatabase);
  if (n >= 32) backends.emplace_back("postgresql", ServiceKind::kDatabase);
  const int num_apps = n - 1 - static_cast<int>(backends.size());
  const int num_l1 = std::max(1, static_cast<int>(std::lround(num_apps * 0.3)));
  const int num_l3 = num_apps >= 3 ? static_cast<int>(std::lround(num_apps * 0.3)) : 0;

  {
    ServiceSpec gw;
    gw.name = "gateway-service";
    gw.kind = ServiceKind::kGateway;
    gw.layer = 0;
    gw.noun = "gateway";
    gw.class_prefix = "g.f.GatewayFilter";
    gw.app_name = "GatewayApplication";
    gw.cpu_limit_m = 2000;
    gw.mem_limit_mi = 1024;
    topo.services.push_back(gw);
  }
  for (int i = 0; i < num_apps; ++i) {
    ServiceSpec s;
    std::string noun = kNouns[i % kNumNouns];
    if (i >= kNumNouns) noun += std::to_string(i / kNumNouns + 1);
    s.noun = noun;
    s.name = noun + "-service";
    s.kind = ServiceKind::kApp;
    s.layer = i < num_l1 ? 1 : (i >= num_apps - num_l3 ? 3 : 2);
    s.class_prefix = std::string(1, noun[0]) + ".s." + camel(noun) + "ServiceImpl";
    s.app_name = camel(noun) + "Application";
    s.cpu_limit_m = pick(rng, {500, 1000, 1000, 2000});
    s.mem_limit_mi = pick(rng, {1024, 2048, 2048});
    topo.services.push_back(s);
  }
  for (const auto& [name, kind] : backends) {
    ServiceSpec s;
    s.name = name;
    s.noun = name;
    s.kind = kind;
    s.layer = 4;
    s.class_prefix = name;
    s.app_name = name;
    s.port = name == "mysql" ? 3306 : name == "redis" ? 6379 : name == "mongodb" ? 27017 : 5432;
    s.cpu_limit_m = kind == ServiceKind::kDatabase ? 2000 : 1000;
    s.mem_limit_mi = kind == ServiceKind::kDatabase ? 4096 : 1024;
    topo.services.push_back(s);
  }

  // --- back-end endpoints ---------------------------------------------------
  std::vector<BackendEndpoints> backend_eps(topo.services.size());
  std::vector<std::int32_t> dbs, caches;
  for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
    auto& s = topo.services[si];
    if (s.kind != ServiceKind::kDatabase && s.kind != ServiceKind::kCache) continue;
    (s.kind == ServiceKind::kDatabase ? dbs : caches).push_back(si);
    auto add = [&](const std::string& route, double median_us, double sigma, double cpu_ms) {
      EndpointSpec e;
      e.service = si;
      e.route = route;
      e.method = route;
      e.self_median_us = median_us * rng.uniform(0.8, 1.25);
      e.self_sigma = sigma;
      e.cpu_ms = cpu_ms;
      e.request_bytes = 300;
      e.response_bytes = s.kind == ServiceKind::kCache ? 600 : 2500;
      e.base_error_prob = 0;  // back-end failures come from faults only
      e.warn_prob = 0;
      topo.endpoints.push_back(e);
      s.endpoints.push_back(static_cast<std::int32_t>(topo.endpoints.size() - 1));
      return static_cast<std::int32_t>(topo.endpoints.size() - 1);
    };
    if (s.kind == ServiceKind::kCache) {
      backend_eps[si].read = add("GET", 180, 0.5, 0.05);
      backend_eps[si].write = backend_eps[si].update = add("SET", 220, 0.5, 0.06);
    } else if (s.name == "mongodb") {
      backend_eps[si].read = add("find", 900, 0.7, 0.3);
      backend_eps[si].write = add("insert", 1500, 0.6, 0.5);
      backend_eps[si].update = add("update", 1300, 0.6, 0.45);
    } else {
      backend_eps[si].read = add("SELECT", 800, 0.75, 0.3);
      backend_eps[si].write = add("INSERT", 1600, 0.6, 0.5);
      backend_eps[si].update = add("UPDATE", 1300, 0.6, 0.45);
    }
  }

  // --- application endpoints -------------------------------------------------
  for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
    auto& s = topo.services[si];
    if (s.kind != ServiceKind::kApp) continue;
    const int count = s.layer == 1 ? 2 + static_cast<int>(rng.below(3)) : 1 + static_cast<int>(rng.below(3));
    std::vector<int> actions(kNumActions);
    for (int i = 0; i < kNumActions; ++i) actions[i] = i;
    for (int i = kNumActions - 1; i > 0; --i) std::swap(actions[i], actions[rng.below(i + 1)]);
    const std::string controller = std::string(1, s.noun[0]) + ".c." + camel(s.noun) + "Controller";
    for (int k = 0; k < count; ++k) {
      const Action& a = kActions[actions[k]];
      EndpointSpec e;
      e.service = si;
      e.method = replace_all(a.method, "{N}", camel(s.noun));
      e.route = std::string(a.verb) + " " + replace_all(a.path, "{n}", s.noun);
      e.self_median_us = rng.uniform(3000, 20000);
      e.self_sigma = rng.uniform(0.35, 0.7);
      e.cpu_ms = e.self_median_us / 1000.0 * rng.uniform(0.3, 0.7);
      e.request_bytes = rng.uniform(300, 1500);
      e.response_bytes = rng.uniform(800, 12000);
      e.warn_prob = rng.uniform(0.03, 0.2);
      e.base_error_prob = rng.uniform(0.0005, 0.003);
      const std::string verb = a.verb;
      const char* const* pool = verb == "GET" ? kGetInfo : verb == "POST" ? kPostInfo : kPutInfo;
      const int pool_n = verb == "GET" ? 6 : verb == "POST" ? 5 : 4;
      const int lines = 1 + static_cast<int>(rng.below(5));
      // one draw per statement: argument evaluation order is unspecified
      auto line_no = [&](int lo, int span) { return std::to_string(lo + rng.below(span)); };
      std::string loc = controller + "#" + line_no(40, 120);
      const char* text = pool[rng.below(pool_n)];
      e.info_logs.push_back(make_log(loc, text, e.method, s.noun));
      for (int l = 1; l < lines; ++l) {
        loc = s.class_prefix + "#" + line_no(60, 400);
        text = pool[rng.below(pool_n)];
        e.info_logs.push_back(make_log(loc, text, e.method, s.noun));
      }
      loc = s.class_prefix + "#" + line_no(60, 400);
      text = kWarn[rng.below(4)];
      e.warn_log = make_log(loc, text, e.method, s.noun);
      loc = s.class_prefix + "#" + line_no(60, 400);
      text = kError[rng.below(3)];
      e.error_log = make_log(loc, text, e.method, s.noun);
      topo.endpoints.push_back(e);
      s.endpoints.push_back(static_cast<std::int32_t>(topo.endpoints.size() - 1));
    }
  }

  // --- call graph ---------------------------------------------------------------
  auto services_in_layers = [&](int lo, int hi) {
    std::vector<std::int32_t> out;
    for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si)
      if (topo.services[si].kind == ServiceKind::kApp && topo.services[si].layer >= lo && topo.services[si].layer <= hi)
        out.push_back(si);
    return out;
  };
  auto http_op = [&](std::int32_t callee_ep) {
    const std::string& route = topo.endpoints[callee_ep].route;
    return catalog.operations.intern("HTTP " + route.substr(0, route.find(' ')));
  };
  auto backend_op = [&](std::int32_t caller_service, std::int32_t callee_ep) {
    const auto& callee = topo.services[topo.endpoints[callee_ep].service];
    const std::string& noun = topo.services[caller_service].noun;
    std::string op;
    if (callee.kind == ServiceKind::kCache)
      op = "redis " + topo.endpoints[callee_ep].route;
    else
      op = topo.endpoints[callee_ep].route + " " + noun + "s";
    return catalog.operations.intern(op);
  };
  std::vector<int> called(topo.endpoints.size(), 0);
  for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
    auto& s = topo.services[si];
    if (s.kind != ServiceKind::kApp) continue;
    const std::int32_t home_db = dbs.empty() ? -1 : dbs[rng.below(static_cast<std::int64_t>(dbs.size()))];
    const bool uses_cache = !caches.empty() && rng.bernoulli(0.4);
    const std::int32_t cache = uses_cache ? caches[rng.below(static_cast<std::int64_t>(caches.size()))] : -1;
    const bool uses_db = home_db >= 0 && rng.bernoulli(0.85);
    for (std::int32_t ei : s.endpoints) {
      auto& e = topo.endpoints[ei];
      const bool read_only = e.route.rfind("GET", 0) == 0;
      std::vector<CallSpec> calls;
      if (cache >= 0 && read_only) {
        calls.push_back({backend_eps[cache].read, 1.0, 1, backend_op(si, backend_eps[cache].read)});
      }
      if (uses_db && rng.bernoulli(0.85)) {
        const double p = (cache >= 0 && read_only) ? 0.3 : 1.0;  // cache misses only
        const int rep = rng.bernoulli(0.8) ? 1 : 2;
        calls.push_back({backend_eps[home_db].read, p, rep, backend_op(si, backend_eps[home_db].read)});
      }
      // application calls
      std::vector<std::int32_t> candidates = services_in_layers(s.layer + 1, 3);
      int k = s.layer == 1 ? 1 + static_cast<int>(rng.below(3)) : s.layer == 2 ? 1 + static_cast<int>(rng.below(2)) : 0;
      k = std::min<int>(k, static_cast<int>(candidates.size()));
      std::set<std::int32_t> chosen;
      for (int c = 0; c < k; ++c) {
        // prefer the next layer (weight 2) over deeper ones (weight 1)
        std::vector<double> w;
        double total = 0;
        for (auto cs : candidates) {
          const double wi = chosen.count(cs) ? 0 : (topo.services[cs].layer == s.layer + 1 ? 2.0 : 1.0);
          w.push_back(wi);
          total += wi;
        }
        if (total <= 0) break;
        double u = rng.uniform() * total;
        size_t pick_i = 0;
        for (; pick_i + 1 < w.size() && u >= w[pick_i]; ++pick_i) u -= w[pick_i];
        const std::int32_t callee_s = candidates[pick_i];
        chosen.insert(callee_s);
        const auto& callee_eps = topo.services[callee_s].endpoints;
        const std::int32_t callee_ep = callee_eps[rng.below(static_cast<std::int64_t>(callee_eps.size()))];
        CallSpec call;
        call.endpoint = callee_ep;
        call.prob = rng.bernoulli(0.75) ? 1.0 : rng.uniform(0.3, 0.9);
        call.repeat = rng.bernoulli(0.88) ? 1 : 2 + static_cast<int>(rng.below(2));
        call.client_operation = http_op(callee_ep);
        calls.push_back(call);
        ++called[callee_ep];
      }
      if (uses_db && !read_only) {
        const std::int32_t w = e.route.rfind("POST", 0) == 0 ? backend_eps[home_db].write : backend_eps[home_db].update;
        calls.push_back({w, 1.0, 1, backend_op(si, w)});
        if (cache >= 0) calls.push_back({backend_eps[cache].write, 0.5, 1, backend_op(si, backend_eps[cache].write)});
      }
      int app_calls = 0;
      for (const auto& c : calls) app_calls += topo.traced(topo.endpoints[c.endpoint].service) ? 1 : 0;
      e.parallel = app_calls >= 2 && rng.bernoulli(0.25);
      e.calls = std::move(calls);
    }
  }
  // Every non-entry application endpoint gets at least one caller.
  for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
    const auto& s = topo.services[si];
    if (s.kind != ServiceKind::kApp || s.layer == 1) continue;
    for (std::int32_t ei : s.endpoints) {
      if (called[ei] > 0) continue;
      std::vector<std::int32_t> shallower = services_in_layers(1, s.layer - 1);
      const std::int32_t caller_s = shallower[rng.below(static_cast<std::int64_t>(shallower.size()))];
      const auto& caller_eps = topo.services[caller_s].endpoints;
      auto& caller = topo.endpoints[caller_eps[rng.below(static_cast<std::int64_t>(caller_eps.size()))]];
      CallSpec call{ei, 1.0, 1, http_op(ei)};
      // insert before the trailing database writes, after reads: at the middle
      caller.calls.insert(
          caller.calls.begin() + static_cast<std::ptrdiff_t>(caller.calls.size() / 2 + (caller.calls.size() % 2)),
          call);
      ++called[ei];
    }
  }

  // Every back end is used by someone: a read from a random application endpoint.
  for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
    const auto kind = topo.services[si].kind;
    if (kind != ServiceKind::kDatabase && kind != ServiceKind::kCache) continue;
    bool used = false;
    for (const auto& e : topo.endpoints)
      for (const auto& c : e.calls) used |= topo.endpoints[c.endpoint].service == si;
    if (used) continue;
    std::vector<std::int32_t> apps = services_in_layers(1, 3);
    const std::int32_t caller_s = apps[rng.below(static_cast<std::int64_t>(apps.size()))];
    const auto& caller_eps = topo.services[caller_s].endpoints;
    auto& caller = topo.endpoints[caller_eps[rng.below(static_cast<std::int64_t>(caller_eps.size()))]];
    caller.calls.insert(caller.calls.begin(),
                        CallSpec{backend_eps[si].read, 1.0, 1, backend_op(caller_s, backend_eps[si].read)});
  }

  // --- gateway routes -------------------------------------------------------------
  {
    auto& gw = topo.services[0];
    std::vector<std::int32_t> exposed;
    for (std::int32_t si = 1; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
      const auto& s = topo.services[si];
      if (s.kind != ServiceKind::kApp) continue;
      for (std::int32_t ei : s.endpoints)
        if (s.layer == 1 || (s.layer == 2 && rng.bernoulli(0.2))) exposed.push_back(ei);
    }
    for (std::int32_t target : exposed) {
      EndpointSpec e;
      e.service = 0;
      e.route = topo.endpoints[target].route;
      e.method = "filter";
      e.self_median_us = rng.uniform(500, 900);
      e.self_sigma = 0.4;
      e.cpu_ms = 0.5;
      e.request_bytes = topo.endpoints[target].request_bytes + 400;
      e.response_bytes = topo.endpoints[target].response_bytes + 200;
      e.warn_prob = 0;
      e.base_error_prob = 0;
      e.calls.push_back({target, 1.0, 1, http_op(target)});
      topo.endpoints.push_back(e);
      gw.endpoints.push_back(static_cast<std::int32_t>(topo.endpoints.size() - 1));
      topo.entry_endpoints.push_back(static_cast<std::int32_t>(topo.endpoints.size() - 1));
    }
    // Zipf-like popularity in a random order
    std::vector<double> w(topo.entry_endpoints.size());
    for (size_t i = 0; i < w.size(); ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.8);
    for (size_t i = w.size(); i > 1; --i) std::swap(w[i - 1], w[rng.below(static_cast<std::int64_t>(i))]);
    double total = 0;
    for (double x : w) total += x;
    double acc = 0;
    for (double x : w) {
      acc += x / total;
      topo.entry_cumulative.push_back(acc);
    }
    topo.entry_cumulative.back() = 1.0;
  }

  // --- order, unit rates, callers ------------------------------------------------
  for (int layer = 4; layer >= 0; --layer)
    for (std::int32_t ei = 0; ei < static_cast<std::int32_t>(topo.endpoints.size()); ++ei)
      if (topo.services[topo.endpoints[ei].service].layer == layer) topo.endpoint_order.push_back(ei);
  for (size_t i = 0; i < topo.entry_endpoints.size(); ++i)
    topo.endpoints[topo.entry_endpoints[i]].unit_rate =
        topo.entry_cumulative[i] - (i == 0 ? 0.0 : topo.entry_cumulative[i - 1]);
  for (auto it = topo.endpoint_order.rbegin(); it != topo.endpoint_order.rend(); ++it) {
    const auto& e = topo.endpoints[*it];
    for (const auto& c : e.calls) {
      topo.endpoints[c.endpoint].unit_rate += e.unit_rate * c.prob * c.repeat;
      auto& callers = topo.services[topo.endpoints[c.endpoint].service].callers;
      if (std::find(callers.begin(), callers.end(), e.service) == callers.end()) callers.push_back(e.service);
    }
  }

  // --- entities: services, nodes, pods --------------------------------------------
  for (auto& s : topo.services) s.entity = catalog.entity(s.name, EntityKind::kService);
  std::vector<int> replicas(topo.services.size(), 1);
  int num_pods = 0;
  for (size_t si = 0; si < topo.services.size(); ++si) {
    const auto kind = topo.services[si].kind;
    if (kind == ServiceKind::kGateway) {
      replicas[si] = std::min(2, std::max(1, config.max_replicas));
    } else if (kind == ServiceKind::kApp) {
      const double u = rng.uniform();
      replicas[si] = std::min(u < 0.5 ? 1 : u < 0.85 ? 2 : 3, std::max(1, config.max_replicas));
    }
    num_pods += replicas[si];
  }
  const int num_nodes = std::max(2, (num_pods + config.pods_per_node - 1) / config.pods_per_node);
  for (int ni = 0; ni < num_nodes; ++ni) {
    NodeSpec node;
    const std::string number = std::to_string(ni + 1);
    node.name = "node-" + std::string(number.size() < 2 ? 1 : 0, '0') + number;  // node-01, node-02, ...
    node.entity = catalog.entity(node.name, EntityKind::kNode);
    node.base_cpu_pct = rng.uniform(4, 12);
    node.base_mem_pct = rng.uniform(25, 45);
    node.base_rx = rng.uniform(30000, 120000);
    topo.nodes.push_back(node);
  }
  std::set<std::string> used_names;
  for (std::int32_t si = 0; si < static_cast<std::int32_t>(topo.services.size()); ++si) {
    auto& s = topo.services[si];
    const bool stateful = s.kind == ServiceKind::kDatabase || s.kind == ServiceKind::kCache;
    const std::string rs_hash = pod_hash(rng, 10, true);
    const auto offset = rng.below(num_nodes);
    for (int r = 0; r < replicas[si]; ++r) {
      PodSpec p;
      p.service = si;
      if (stateful) {
        p.name = s.name + "-" + std::to_string(r);
      } else {
        do {
          p.name = s.name + "-" + rs_hash + "-" + pod_hash(rng, 5, false);
        } while (used_names.count(p.name));
      }
      used_names.insert(p.name);
      p.node = static_cast<std::int32_t>((offset + r) % num_nodes);
      p.entity = catalog.entity(p.name, EntityKind::kPod, s.name);
      catalog.entity_info[p.entity].node = topo.nodes[p.node].entity;
      const auto pod_index = static_cast<std::int32_t>(topo.pods.size());
      p.ip = "10.244." + std::to_string(p.node) + "." + std::to_string(10 + pod_index);
      switch (s.kind) {
        case ServiceKind::kGateway:
          p.idle_cpu_m = rng.uniform(10, 25);
          break;
        case ServiceKind::kApp:
          p.idle_cpu_m = rng.uniform(3, 15);
          break;
        case ServiceKind::kDatabase:
          p.idle_cpu_m = rng.uniform(15, 40);
          break;
        case ServiceKind::kCache:
          p.idle_cpu_m = rng.uniform(2, 6);
          break;
      }
      p.mem_base_mi =
          s.mem_limit_mi * (s.kind == ServiceKind::kCache ? rng.uniform(0.06, 0.15) : rng.uniform(0.18, 0.35));
      p.net_base_rx = rng.uniform(1000, 4000);
      p.net_base_tx = rng.uniform(5000, 40000);
      p.syscall_base = rng.uniform(20, 80);
      topo.pods.push_back(p);
      s.pods.push_back(pod_index);
      topo.nodes[p.node].pods.push_back(pod_index);
    }
  }

  // --- names ---------------------------------------------------------------------
  for (auto& e : topo.endpoints) {
    if (!topo.traced(e.service)) continue;
    const auto& s = topo.services[e.service];
    e.operation = catalog.operations.intern(e.route);
    e.internal_operation =
        catalog.operations.intern(s.kind == ServiceKind::kGateway ? std::string("FilteringWebHandler.handle")
                                                                  : camel(s.noun) + "Controller." + e.method);
  }
  for (const auto& k : nezha_kpis()) topo.kpis.push_back(catalog.kpis.intern(k));
  return topo;
}

}  // namespace rslicer::sim
