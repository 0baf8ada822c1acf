// The simulated system: services, their endpoints and call graph, pods and
// nodes. Built once per simulation from the seed; read-only afterwards.
//
// Layers: 0 the gateway, 1-3 application services (a layer only calls deeper
// layers, so the call graph is a DAG), 4 back ends (databases, caches), which
// are not traced: their work shows up as the callers' client spans.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/record.h"

namespace rslicer::sim {

struct SimConfig;

enum class ServiceKind : std::uint8_t { kGateway, kApp, kDatabase, kCache };

// One downstream call an endpoint makes while serving a request.
struct CallSpec {
  std::int32_t endpoint = -1;   // callee endpoint (index into Topology::endpoints)
  double prob = 1.0;            // probability that the call happens per request
  std::int32_t repeat = 1;      // times it is made when it happens (loops)
  Id client_operation = kNoId;  // operation of the caller's client span ("HTTP POST", "SELECT orders")
};

// An endpoint's log lines: fixed text with {placeholders} for variable parts
// (filled by log_templates.h), and the code location "class#line" it logs from.
struct LogTemplate {
  std::string location;  // "o.s.OrderServiceImpl#118"
  std::string text;      // "[createOrder][Create order success][OrderId: {uuid}, price: {price}]"
};

struct EndpointSpec {
  std::int32_t service = -1;
  std::string route;              // server span operation, "POST /api/v1/orderservice/order"
  std::string method;             // code method for logs, "createOrder"
  Id operation = kNoId;           // interned route
  Id internal_operation = kNoId;  // the handler's in-process span, "OrderController.createOrder"
  double self_median_us = 1000;   // median of the endpoint's own processing time (lognormal)
  double self_sigma = 0.5;        // log-sd of that time
  double cpu_ms = 2.0;            // CPU milliseconds per request
  double request_bytes = 800;     // request size on the wire
  double response_bytes = 2000;   // response size on the wire
  std::vector<CallSpec> calls;
  bool parallel = false;               // calls run concurrently (fan-out) instead of one after another
  double warn_prob = 0.02;             // probability of a business warning log line per request
  double base_error_prob = 0.0005;     // probability of a spontaneous 500 per request
  double unit_rate = 0;                // requests/s this endpoint receives per 1 request/s at the gateway
  std::vector<LogTemplate> info_logs;  // INFO lines per request, in order
  LogTemplate warn_log;                // business warning ("... not found")
  LogTemplate error_log;               // business failure (the "return" fault, spontaneous errors)
};

struct ServiceSpec {
  std::string name;  // "order-service", "mysql"
  ServiceKind kind = ServiceKind::kApp;
  std::int32_t layer = 1;
  Id entity = kNoId;
  std::string noun;          // domain noun, "order"
  std::string class_prefix;  // "o.s.OrderServiceImpl"
  std::string app_name;      // "OrderServiceApplication"
  std::int32_t port = 8080;
  double cpu_limit_m = 1000;   // container CPU limit, millicores
  double mem_limit_mi = 2048;  // container memory limit, MiB
  std::vector<std::int32_t> endpoints;
  std::vector<std::int32_t> pods;
  std::vector<std::int32_t> callers;  // services that call this one
};

struct PodSpec {
  std::string name;  // "order-service-7c9d5b8f6d-x2kqp", "mysql-0"
  std::int32_t service = -1;
  std::int32_t node = -1;
  Id entity = kNoId;
  std::string ip;              // pod IP, for log lines
  double idle_cpu_m = 10;      // CPU used with no traffic
  double mem_base_mi = 500;    // resident memory with no traffic
  double net_base_rx = 2000;   // bytes/s received with no traffic (probes, scrapes)
  double net_base_tx = 20000;  // bytes/s sent with no traffic
  double syscall_base = 50;    // read/write syscalls per second with no traffic
};

struct NodeSpec {
  std::string name;  // "node-03"
  Id entity = kNoId;
  double cpu_capacity_m = 8000;
  double mem_capacity_mi = 32768;
  double base_cpu_pct = 8;  // system daemons and other tenants
  double base_mem_pct = 35;
  double base_rx = 50000;  // bytes/s
  std::vector<std::int32_t> pods;
};

struct Topology {
  std::vector<ServiceSpec> services;
  std::vector<EndpointSpec> endpoints;
  std::vector<PodSpec> pods;
  std::vector<NodeSpec> nodes;
  std::int32_t gateway = 0;                   // service index of the gateway
  std::vector<std::int32_t> entry_endpoints;  // the gateway's endpoints
  std::vector<double> entry_cumulative;       // cumulative entry weights, last = 1
  std::vector<std::int32_t> endpoint_order;   // callees before callers (deepest layer first)
  std::vector<Id> kpis;                       // metric ids, in kNezhaKpis order

  bool traced(std::int32_t service) const {
    const auto k = services[service].kind;
    return k == ServiceKind::kGateway || k == ServiceKind::kApp;
  }
};

// The KPI columns of the nezha per-pod metric files, in file order.
const std::vector<std::string>& nezha_kpis();
enum KpiIndex : int {
  kCpuUsage = 0,
  kCpuUsageRate,
  kMemoryUsage,
  kMemoryUsageRate,
  kSyscallRead,
  kSyscallWrite,
  kNetworkReceiveBytes,
  kNetworkTransmitBytes,
  kClientP90,
  kServerP90,
  kClientP95,
  kServerP95,
  kClientP99,
  kServerP99,
  kPodWorkload,
  kPodSuccessRate,
  kNodeCpuUsageRate,
  kNodeMemoryUsageRate,
  kNodeNetworkReceiveBytes,
  kNumKpis
};

// Builds the topology for `config` and interns every name into `catalog`
// (services, nodes, pods linked to both, KPIs and operations).
Topology build_topology(const SimConfig& config, Catalog& catalog);

}  // namespace rslicer::sim
