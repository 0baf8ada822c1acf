#include "sim/simulator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "core/errors.h"
#include "sim/faults.h"
#include "sim/log_templates.h"
#include "sim/model.h"
#include "sim/rng.h"
#include "sim/topology.h"

namespace rslicer::sim {

namespace {

constexpr int kStepsPerInterval = 4;  // sub-steps of the analytic model per metric interval
constexpr double kZ90 = 1.2815515655446004;
constexpr double kZ95 = 1.6448536269514722;
constexpr double kZ99 = 2.3263478740408408;
constexpr TimeUs kSlowWireUs = 50000;      // network time of a call above which the caller may warn
constexpr TimeUs kSlowCalleeUs = 1000000;  // callee time above which the caller may warn

void count_records(SimChunk& c) {
  c.counts.metric_points = static_cast<std::int64_t>(c.metrics.size());
  c.counts.spans = static_cast<std::int64_t>(c.spans.size());
  c.counts.log_records = static_cast<std::int64_t>(c.logs.size());
  for (const auto& s : c.spans) {
    if (s.parent_id.empty()) ++c.counts.traces;
    if (s.error) ++c.counts.error_spans;
  }
  for (const auto& l : c.logs) ++c.counts.logs_by_level[log_level_name(l.level)];
}

// Appends the records of `chunk` (sorted) to `out`, merged with `pending`
// (sorted, from earlier chunks); records at or after `release_before` stay in
// `pending` for the next chunk. Keeps `out` sorted across chunk seams in O(n).
template <typename T>
void append_merged(std::vector<T>& out, std::vector<T>& pending, std::vector<T>& chunk, TimeUs release_before) {
  std::vector<T> merged;
  merged.reserve(pending.size() + chunk.size());
  std::merge(std::make_move_iterator(pending.begin()), std::make_move_iterator(pending.end()),
             std::make_move_iterator(chunk.begin()), std::make_move_iterator(chunk.end()), std::back_inserter(merged),
             [](const T& a, const T& b) { return record_time(a) < record_time(b); });
  pending.clear();
  chunk.clear();
  chunk.shrink_to_fit();
  for (auto& r : merged) {
    if (record_time(r) < release_before)
      out.push_back(std::move(r));
    else
      pending.push_back(std::move(r));
  }
}


}  // namespace

void SimCounts::add(const SimCounts& o) {
  metric_points += o.metric_points;
  metric_rows += o.metric_rows;
  spans += o.spans;
  traces += o.traces;
  error_spans += o.error_spans;
  log_records += o.log_records;
  for (const auto& [k, v] : o.logs_by_level) logs_by_level[k] += v;
}

struct Simulator::Impl {
  SimConfig config;
  Catalog catalog;
  Topology topo;
  FaultSchedule schedule;
  std::vector<FaultEvent> labels;
  std::unique_ptr<SystemModel> model;
  TimeUs interval_us = 0;
  TimeUs end = 0;
  std::int64_t num_intervals = 0;
  std::int64_t intervals_per_chunk = 0;

  void generate_interval(std::int64_t index, SimChunk& out) const;
  void emit_metrics(std::int64_t index, TimeUs t0, double length_s, const std::vector<SystemStep>& steps,
                    SimChunk& out) const;
  void emit_background_logs(std::int64_t index, TimeUs t0, TimeUs t1, const SystemStep& mid, SimChunk& out) const;
};

// ---------------------------------------------------------------------------
// Traces and their logs
// ---------------------------------------------------------------------------

namespace {

class TraceGen {
 public:
  TraceGen(const Simulator::Impl& sim, const SystemStep& step, Rng& rng, SimChunk& out)
      : sim_(sim),
        topo_(sim.topo),
        step_(step),
        rng_(rng),
        out_(out),
        info_keep_(std::min(1.0, std::max(0.0, sim.config.log_rate))) {}

  void trace(TimeUs start, std::int32_t entry_endpoint, std::int32_t gateway_pod) {
    trace_id_.clear();
    rng_.append_hex(trace_id_, 32);
    server(gateway_pod, entry_endpoint, start, std::string());
  }

 private:
  struct Outcome {
    TimeUs end = 0;
    bool error = false;
    std::int32_t status = 200;
    bool is_return = false;  // the error is an error response (return fault), not an exception
  };

  std::string new_span_id() {
    std::string id;
    id.reserve(16);
    rng_.append_hex(id, 16);
    return id;
  }

  void log(TimeUs t, std::int32_t pod, const std::string& span_id, LogLevel level, std::string message) {
    LogRecord r;
    r.time = t;
    r.entity = topo_.pods[pod].entity;
    r.trace_id = trace_id_;
    r.span_id = span_id;
    r.level = level;
    r.message = std::move(message);
    out_.logs.push_back(std::move(r));
  }

  std::string location(std::int32_t service, std::uint64_t salt) const {
    const auto& s = topo_.services[service];
    return s.class_prefix + "#" + std::to_string(50 + mix64(salt ^ std::hash<std::string>{}(s.name)) % 400);
  }

  double sample_self(std::int32_t pod, const EndpointSpec& e, const PodCondition& c) {
    const double median = e.self_median_us * c.self_factor * step_.queue[pod];
    return rng_.lognormal(std::log(median), e.self_sigma);
  }

  // Serves endpoint `ep` on `pod`, starting at `start`; emits the server span,
  // the handler's internal span under it, its calls (children of the internal
  // span, recursively) and its log lines (tied to the server span).
  // Durations compose: server = own work + calls; the internal span sits
  // inside the server span and holds every call.
  Outcome server(std::int32_t pod, std::int32_t ep, TimeUs start, const std::string& parent_id) {
    const auto& e = topo_.endpoints[ep];
    const auto& svc = topo_.services[e.service];
    const size_t slot = out_.spans.size();
    out_.spans.emplace_back();
    const size_t inner_slot = out_.spans.size();
    out_.spans.emplace_back();
    const std::string span_id = new_span_id();
    const std::string inner_id = new_span_id();
    const PodCondition c = sim_.schedule.condition(pod, start);
    const double self = sample_self(pod, e, c);
    const auto inner_margin = static_cast<TimeUs>(self * 0.05);
    Outcome o;

    if (c.exception_prob > 0 && rng_.bernoulli(c.exception_prob)) {
      o.end = start + std::max<TimeUs>(2, static_cast<TimeUs>(self * kExceptionSelfShare));
      o.error = true;
      o.status = 500;
      if (!e.info_logs.empty() && rng_.bernoulli(info_keep_))
        log(start + (o.end - start) / 4, pod, span_id, LogLevel::kInfo,
            render_log(e.info_logs[0].location, e.info_logs[0].text, rng_));
      const auto& plan = sim_.schedule.plans()[c.fault];
      const std::string cls = svc.class_prefix.substr(svc.class_prefix.rfind('.') + 1);
      std::string msg = location(e.service, 7) + " [" + e.method + "][Unexpected exception][" +
                        std::string(exception_text(static_cast<std::uint64_t>(c.fault) * 31 + 3)) + "] at " + cls +
                        "." + e.method + "(" + cls +
                        ".java:" + std::to_string(60 + mix64(static_cast<std::uint64_t>(plan.label.start)) % 400) + ")";
      log(o.end - 1, pod, span_id, LogLevel::kError, std::move(msg));
      finish_inner(inner_slot, pod, e, start, o.end, inner_margin, inner_id, span_id, true);
      finish_span(slot, pod, e.operation, start, o, span_id, parent_id);
      return o;
    }

    // Calls run one after another; in a fan-out endpoint, consecutive calls to
    // application services run concurrently as one group.
    TimeUs cursor = start + std::max<TimeUs>(1, static_cast<TimeUs>(self * 0.4));
    TimeUs parallel_end = cursor;
    TimeUs parallel_start = -1;  // start of the open concurrent group, -1 when none
    bool failed = false;
    for (const auto& call : e.calls) {
      if (failed) break;
      if (call.prob < 1 && !rng_.bernoulli(call.prob)) continue;
      const bool app_call = topo_.traced(topo_.endpoints[call.endpoint].service);
      const bool in_parallel = e.parallel && app_call;
      if (in_parallel && parallel_start < 0) {
        parallel_start = cursor;
        parallel_end = cursor;
      } else if (!in_parallel && parallel_start >= 0) {
        cursor = std::max(cursor, parallel_end);  // the group ends before the next sequential call
        parallel_start = -1;
      }
      for (int r = 0; r < call.repeat && !failed; ++r) {
        const TimeUs call_start = in_parallel ? parallel_start : cursor;
        const Outcome co = do_call(pod, c, e, call, call_start, inner_id, span_id);
        if (in_parallel)
          parallel_end = std::max(parallel_end, co.end);
        else
          cursor = co.end;
        if (co.error) {
          const double prop = co.is_return ? kReturnPropagateProb : kPropagateProb;
          const auto& callee = topo_.services[topo_.endpoints[call.endpoint].service];
          if (rng_.bernoulli(prop)) {
            failed = true;
            log(co.end, pod, span_id, LogLevel::kError,
                location(e.service, 11) + " [" + e.method + "][Call " + callee.name + " failed][" +
                    (co.status == 503   ? std::string("503 Service Unavailable: Connection refused")
                     : co.status == 504 ? std::string("504 Gateway Timeout: Read timed out")
                                        : std::string("500 Internal Server Error")) +
                    "]");
          } else {
            log(co.end, pod, span_id, LogLevel::kWarn,
                location(e.service, 13) + " [" + e.method + "][" + callee.name +
                    " returned an error, using fallback][status: " + std::to_string(co.status) + "]");
          }
        }
      }
    }
    cursor = std::max(cursor, parallel_end);
    const bool ret = !failed && c.return_prob > 0 && rng_.bernoulli(c.return_prob);
    const bool spontaneous = !failed && !ret && rng_.bernoulli(e.base_error_prob);
    o.end = cursor + std::max<TimeUs>(2 * inner_margin + 1, static_cast<TimeUs>(self * 0.6));
    o.error = failed || ret || spontaneous;
    o.status = o.error ? 500 : 200;
    o.is_return = ret || spontaneous;

    // log lines of the request, spread over the span
    const TimeUs dur = o.end - start;
    const size_t n_info = e.info_logs.size();
    for (size_t i = 0; i < n_info; ++i) {
      if (!rng_.bernoulli(info_keep_)) continue;
      const TimeUs t = start + dur * static_cast<TimeUs>(i + 1) / static_cast<TimeUs>(n_info + 2);
      log(t, pod, span_id, LogLevel::kInfo, render_log(e.info_logs[i].location, e.info_logs[i].text, rng_));
    }
    if (!e.warn_log.text.empty() && rng_.bernoulli(e.warn_prob))
      log(start + dur * 3 / 4, pod, span_id, LogLevel::kWarn, render_log(e.warn_log.location, e.warn_log.text, rng_));
    if (ret || spontaneous)
      log(o.end - 1, pod, span_id, LogLevel::kError, render_log(e.error_log.location, e.error_log.text, rng_));
    if (svc.kind == ServiceKind::kApp) {
      const double slowdown = c.self_factor * step_.queue[pod];
      if (slowdown > 2.0 && rng_.bernoulli(0.3)) {
        log(o.end - 1, pod, span_id, LogLevel::kWarn,
            location(e.service, 17) + " [" + e.method +
                "][Request processing slow][cost: " + std::to_string(dur / 1000) + " ms]");
      }
      if (c.io_factor > 1.5 && rng_.bernoulli(0.3)) {
        log(start + dur / 2, pod, span_id, LogLevel::kWarn,
            location(e.service, 19) + " [" + e.method + "][Slow disk write][write " +
                std::to_string(4096 * (1 + rng_.below(64))) + " bytes took " +
                std::to_string(static_cast<long long>(self * 0.5 / 1000) + 1) + " ms]");
      }
    }
    finish_inner(inner_slot, pod, e, start, o.end, inner_margin, inner_id, span_id, false);
    finish_span(slot, pod, e.operation, start, o, span_id, parent_id);
    return o;
  }

  void finish_inner(size_t slot, std::int32_t pod, const EndpointSpec& e, TimeUs start, TimeUs end, TimeUs margin,
                    const std::string& id, const std::string& parent, bool thrown) {
    Span& s = out_.spans[slot];
    if (end - start <= 2 * margin) margin = 0;
    s.start = start + margin;
    s.duration_us = std::max<TimeUs>(1, end - margin - s.start);
    s.entity = topo_.pods[pod].entity;
    s.operation = e.internal_operation;
    s.trace_id = trace_id_;
    s.span_id = id;
    s.parent_id = parent;
    s.status_code = thrown ? 500 : 0;  // in-process: no protocol status, unless the exception escaped here
    s.error = thrown;
  }

  // One call from `pod` (serving `caller`) with retries after connection
  // failures. Each attempt is a client span on the caller; an attempt that
  // reaches a traced service has that service's server span as child.
  Outcome do_call(std::int32_t pod, const PodCondition& c, const EndpointSpec& caller, const CallSpec& call,
                  TimeUs start, const std::string& parent_span, const std::string& log_span) {
    const auto& callee_ep = topo_.endpoints[call.endpoint];
    const auto& callee = topo_.services[callee_ep.service];
    const bool traced = topo_.traced(callee_ep.service);
    const auto delay = static_cast<TimeUs>(c.delay_us);
    const int retries = std::max(0, sim_.config.max_retries);
    std::uint32_t tried = 0;  // bit set of pod positions already tried
    TimeUs t = start + 20 + rng_.below(80);
    TimeUs child_us = 0;  // duration of the callee's server span, when there is one
    Outcome o;
    for (int attempt = 0; attempt <= retries; ++attempt) {
      // pick a pod, avoiding the ones that failed already when others remain
      const auto n = static_cast<std::int64_t>(callee.pods.size());
      std::int64_t k = rng_.below(n);
      if (tried != 0 && n > 1) {
        for (int guard = 0; guard < 8 && (tried >> (k & 31) & 1u); ++guard) k = rng_.below(n);
      }
      const std::int32_t b = callee.pods[k];
      const PodCondition cb = sim_.schedule.condition(b, t);
      const size_t slot = out_.spans.size();
      out_.spans.emplace_back();
      const std::string span_id = new_span_id();
      const bool last = attempt == retries;
      bool conn_fail = false;
      if (cb.down) {
        o.end = t + static_cast<TimeUs>(rng_.lognormal(std::log(kConnectFailUs), 0.3)) + delay;
        o.error = true;
        o.status = 503;
        o.is_return = false;
        conn_fail = true;
      } else {
        const double loss = 1 - (1 - c.loss) * (1 - cb.loss);
        if (loss > 0 && rng_.bernoulli(timeout_prob(loss))) {
          o.end = t + static_cast<TimeUs>(kTimeoutUs);  // the client's timer
          o.error = true;
          o.status = 504;
          o.is_return = false;
          conn_fail = true;
        } else {
          const double net = rng_.lognormal(std::log(kNetMedianUs), kNetSigma);
          const TimeUs rto = (loss > 0 && rng_.bernoulli(retransmit_prob(loss))) ? static_cast<TimeUs>(kRtoUs) : 0;
          if (traced) {
            // the request leaves this pod late, the response leaves the callee late
            const Outcome child = server(b, call.endpoint, t + delay + static_cast<TimeUs>(net / 2), span_id);
            o.end = child.end + static_cast<TimeUs>(cb.delay_us + net / 2) + rto;
            child_us = child.end - (t + delay + static_cast<TimeUs>(net / 2));
            o.error = child.error;
            o.status = child.status;
            o.is_return = child.is_return;
          } else {
            const double median = callee_ep.self_median_us * cb.self_factor * step_.queue[b];
            const double work = rng_.lognormal(std::log(median), callee_ep.self_sigma) + cb.delay_us;
            o.end = t + delay + static_cast<TimeUs>(net + work) + rto;
            o.error = false;
            o.status = 0;
            o.is_return = false;
          }
        }
      }
      Span& s = out_.spans[slot];
      s.start = t;
      s.duration_us = std::max<TimeUs>(1, o.end - t);
      s.entity = topo_.pods[pod].entity;
      s.operation = call.client_operation;
      s.trace_id = trace_id_;
      s.span_id = span_id;
      s.parent_id = parent_span;
      s.status_code = o.status;
      s.error = o.error;
      s.peer = callee.entity;  // the callee service, as OTel client instrumentation names it (peer.service)
      if (!conn_fail) {
        // slow on the wire (delay, retransmissions) or very slow at the callee
        const TimeUs wire_us = (o.end - t) - child_us;
        if (traced && !o.error && (wire_us > kSlowWireUs || child_us > kSlowCalleeUs) && rng_.bernoulli(0.5))
          log(o.end, pod, log_span, LogLevel::kWarn,
              location(caller.service, 23) + " [" + caller.method + "][Slow response from " + callee.name +
                  "][cost: " + std::to_string((o.end - t) / 1000) + " ms]");
        return o;
      }
      tried |= 1u << (k & 31);
      const std::string cause = o.status == 503 ? "Connection refused (Connection refused)" : "Read timed out";
      const std::string url = "http://" + callee.name + ":" + std::to_string(callee.port) +
                              callee_ep.route.substr(callee_ep.route.find(' ') + 1);
      if (!last) {
        log(o.end, pod, log_span, LogLevel::kWarn,
            location(caller.service, 29) + " [" + caller.method + "][Retrying " + callee.name + "][attempt " +
                std::to_string(attempt + 2) + ", cause: " + cause + "]");
      } else {
        log(o.end, pod, log_span, LogLevel::kError,
            location(caller.service, 31) + " [" + caller.method + "][I/O error on " +
                callee_ep.route.substr(0, callee_ep.route.find(' ')) + " request for \"" + url + "\": " + cause + "]");
      }
      t = o.end + 5000 + rng_.below(20000);  // back-off before the retry
    }
    return o;
  }

  void finish_span(size_t slot, std::int32_t pod, Id operation, TimeUs start, const Outcome& o,
                   const std::string& span_id, const std::string& parent_id) {
    Span& s = out_.spans[slot];
    s.start = start;
    s.duration_us = std::max<TimeUs>(1, o.end - start);
    s.entity = topo_.pods[pod].entity;
    s.operation = operation;
    s.trace_id = trace_id_;
    s.span_id = span_id;
    s.parent_id = parent_id;
    s.status_code = o.status;
    s.error = o.error;
  }

  const Simulator::Impl& sim_;
  const Topology& topo_;
  const SystemStep& step_;
  Rng& rng_;
  SimChunk& out_;
  double info_keep_;
  std::string trace_id_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

void Simulator::Impl::emit_metrics(std::int64_t index, TimeUs t0, double length_s, const std::vector<SystemStep>& steps,
                                   SimChunk& out) const {
  const size_t np = topo.pods.size();
  struct Row {
    bool present = false;
    double v[kNumKpis];
    bool has[kNumKpis];
  };
  std::vector<Row> rows(np);
  Rng rng(stream_key(config.seed, kStreamPodMetrics, static_cast<std::uint64_t>(index)));
  const double t_s = static_cast<double>(t0) / kUsPerSecond;
  for (size_t p = 0; p < np; ++p) {
    const auto& pod = topo.pods[p];
    const auto& svc = topo.services[pod.service];
    int up_steps = 0;
    double rate = 0, cpu = 0, cpu_extra = 0, mem_load = 0, rx = 0, tx = 0, sr = 0, sw = 0, err_w = 0, client_rate = 0;
    Moments server, client;
    for (const auto& s : steps) {
      if (s.cond[p].down) continue;
      ++up_steps;
      rate += s.server_rate[p];
      cpu += s.cpu_m[p] - s.cond[p].cpu_extra_m;
      cpu_extra += s.cond[p].cpu_extra_m;
      mem_load += s.mem_load_mi[p];
      rx += s.rx[p];
      tx += s.tx[p];
      sr += s.syscall_r[p];
      sw += s.syscall_w[p];
      server.mix_in(s.server_rate[p], s.server_lat[p]);
      err_w += s.server_rate[p] * s.server_err[p];
      client.mix_in(s.client_rate[p], s.client_lat[p]);
      client_rate += s.client_rate[p];
    }
    // a pod that was gone for most of the interval was not scraped
    if (up_steps * 2 <= static_cast<int>(steps.size())) continue;
    const double err = rate > 0 ? err_w / rate : 0;
    server = server.divided(rate);
    client = client.divided(client_rate);
    const double inv = 1.0 / up_steps;
    rate *= inv;
    cpu *= inv;
    cpu_extra *= inv;
    mem_load *= inv;
    rx *= inv;
    tx *= inv;
    sr *= inv;
    sw *= inv;
    client_rate *= inv;
    // share of the interval the pod was up
    const double up_share = static_cast<double>(up_steps) / static_cast<double>(steps.size());

    Row& row = rows[p];
    row.present = true;
    std::fill(std::begin(row.has), std::end(row.has), true);
    const std::uint64_t pod_key = stream_key(config.seed, kStreamPodNoise, p);
    // CPU: load-driven demand with jitter, slow drift and occasional spikes (GC, cron), plus what a
    // stressor, GC or warm-up takes (steady), capped at the limit
    const double load_jitter = rng.lognormal(0, 0.3);
    const double extra_jitter = rng.lognormal(0, 0.03);
    double cpu_v = cpu * load_jitter * std::exp(0.25 * smooth_noise(pod_key, t_s, 480)) + cpu_extra * extra_jitter;
    if (rng.bernoulli(0.04)) cpu_v += pod.idle_cpu_m * rng.uniform(2, 6);
    cpu_v = std::clamp(cpu_v, 0.1, svc.cpu_limit_m);
    row.v[kCpuUsage] = cpu_v;
    row.v[kCpuUsageRate] = 100 * cpu_v / svc.cpu_limit_m;
    double mem = pod.mem_base_mi * (1 + 0.015 * smooth_noise(pod_key + 1, t_s, 1800) + 0.002 * rng.normal()) + mem_load;
    mem = std::clamp(mem, 0.2 * pod.mem_base_mi, svc.mem_limit_mi);
    row.v[kMemoryUsage] = mem;
    row.v[kMemoryUsageRate] = 100 * mem / svc.mem_limit_mi;
    row.v[kSyscallRead] = sr * rng.lognormal(0, 0.1);
    row.v[kSyscallWrite] = sw * rng.lognormal(0, 0.1);
    row.v[kNetworkReceiveBytes] = rx * rng.lognormal(0, 0.1);
    row.v[kNetworkTransmitBytes] = tx * rng.lognormal(0, 0.1);
    const std::int64_t count = rng.poisson(rate * length_s * up_share);
    const std::int64_t client_count = rng.poisson(client_rate * length_s * up_share);
    row.v[kPodWorkload] = static_cast<double>(count) / length_s;
    std::int64_t errors = count > 0 ? std::min(count, rng.poisson(static_cast<double>(count) * err)) : 0;
    row.v[kPodSuccessRate] =
        count > 0 ? 100.0 * static_cast<double>(count - errors) / static_cast<double>(count) : 100.0;
    // latency percentiles: estimated from `count` requests, so noisier when traffic is low
    const bool has_server = count > 0 && server.m1 > 0;
    const double server_noise = has_server ? rng.lognormal(0, 0.3 / std::sqrt(static_cast<double>(count)) + 0.03) : 1;
    row.has[kServerP90] = row.has[kServerP95] = row.has[kServerP99] = has_server;
    row.v[kServerP90] = server.quantile(kZ90) * server_noise / 1e6;
    row.v[kServerP95] = server.quantile(kZ95) * server_noise / 1e6;
    row.v[kServerP99] = server.quantile(kZ99) * server_noise / 1e6;
    const bool has_client = client_count > 0 && client.m1 > 0;
    const double client_noise =
        has_client ? rng.lognormal(0, 0.3 / std::sqrt(static_cast<double>(client_count)) + 0.03) : 1;
    row.has[kClientP90] = row.has[kClientP95] = row.has[kClientP99] = has_client;
    row.v[kClientP90] = client.quantile(kZ90) * client_noise / 1e6;
    row.v[kClientP95] = client.quantile(kZ95) * client_noise / 1e6;
    row.v[kClientP99] = client.quantile(kZ99) * client_noise / 1e6;
  }
  // Node KPIs: the node's own load plus its pods', repeated on every pod row (as nezha does).
  Rng node_rng(stream_key(config.seed, kStreamNodeMetrics, static_cast<std::uint64_t>(index)));
  for (const auto& node : topo.nodes) {
    double cpu = 0, mem = 0, rx = 0;
    for (std::int32_t p : node.pods) {
      if (!rows[p].present) continue;
      cpu += rows[p].v[kCpuUsage];
      mem += rows[p].v[kMemoryUsage];
      rx += rows[p].v[kNetworkReceiveBytes];
    }
    const double cpu_pct = node.base_cpu_pct * node_rng.lognormal(0, 0.1) + 100 * cpu / node.cpu_capacity_m;
    const double mem_pct = node.base_mem_pct * (1 + 0.01 * node_rng.normal()) + 100 * mem / node.mem_capacity_mi;
    const double net = node.base_rx * node_rng.lognormal(0, 0.15) + rx;
    for (std::int32_t p : node.pods) {
      rows[p].v[kNodeCpuUsageRate] = std::min(100.0, cpu_pct);
      rows[p].v[kNodeMemoryUsageRate] = std::min(100.0, mem_pct);
      rows[p].v[kNodeNetworkReceiveBytes] = net;
    }
  }
  for (size_t p = 0; p < np; ++p) {
    const Row& row = rows[p];
    if (!row.present) continue;
    ++out.counts.metric_rows;
    for (int k = 0; k < kNumKpis; ++k) {
      if (!row.has[k] || !std::isfinite(row.v[k])) continue;
      out.metrics.push_back(MetricPoint{t0, topo.pods[p].entity, topo.kpis[k], row.v[k]});
    }
  }
}

// ---------------------------------------------------------------------------
// Logs not tied to requests: housekeeping, GC, restarts, database notes
// ---------------------------------------------------------------------------

void Simulator::Impl::emit_background_logs(std::int64_t index, TimeUs t0, TimeUs t1, const SystemStep& mid,
                                           SimChunk& out) const {
  Rng rng(stream_key(config.seed, kStreamBackgroundLogs, static_cast<std::uint64_t>(index)));
  const double len_s = static_cast<double>(t1 - t0) / kUsPerSecond;
  const double keep = std::min(1.0, std::max(0.0, config.log_rate));
  auto at = [&]() { return t0 + static_cast<TimeUs>(rng.uniform() * static_cast<double>(t1 - t0)); };
  auto emit = [&](TimeUs t, std::int32_t pod, LogLevel level, std::string msg) {
    LogRecord r;
    r.time = t;
    r.entity = topo.pods[pod].entity;
    r.level = level;
    r.message = std::move(msg);
    out.logs.push_back(std::move(r));
  };
  // at a random time of the interval, drawn after the message (one fixed order of draws)
  auto emit_rand = [&](std::int32_t pod, LogLevel level, std::string msg) { emit(at(), pod, level, std::move(msg)); };
  for (std::int32_t p = 0; p < static_cast<std::int32_t>(topo.pods.size()); ++p) {
    const auto& pod = topo.pods[p];
    const auto& svc = topo.services[pod.service];
    const PodCondition& c = mid.cond[p];

    // restart lines, whenever a pod_kill restart falls in this interval
    for (std::int32_t fi : schedule.plans_of(p)) {
      const auto& f = schedule.plans()[fi];
      if (f.type != FaultType::kPodKill) continue;
      const TimeUs restart = f.label.start + static_cast<TimeUs>(f.down_s * kUsPerSecond);
      if (restart < t0 || restart >= t1) continue;
      if (svc.kind == ServiceKind::kDatabase) {
        emit(restart + 200000, p, LogLevel::kInfo,
             "[Note] " + svc.name + "d: ready for connections. port: " + std::to_string(svc.port));
      } else if (svc.kind == ServiceKind::kCache) {
        emit(restart + 100000, p, LogLevel::kInfo, "* Ready to accept connections");
      } else {
        const double boot_s = rng.uniform(8, 25);
        emit(restart + 500000, p, LogLevel::kInfo,
             "o.s.b.StartupInfoLogger#55 Starting " + svc.app_name + " v1.0 on " + pod.name + " with PID 1");
        emit(
            restart + 2000000, p, LogLevel::kInfo,
            "o.s.b.w.e.t.TomcatWebServer#108 Tomcat initialized with port(s): " + std::to_string(svc.port) + " (http)");
        emit(restart + static_cast<TimeUs>(boot_s * kUsPerSecond), p, LogLevel::kInfo,
             "o.s.b.StartupInfoLogger#61 Started " + svc.app_name + " in " + std::to_string(boot_s).substr(0, 6) +
                 " seconds (JVM running for " + std::to_string(boot_s + 1.7).substr(0, 6) + ")");
      }
    }
    if (c.down) continue;

    switch (svc.kind) {
      case ServiceKind::kApp:
      case ServiceKind::kGateway:
        if (rng.bernoulli(keep * len_s / 300))
          emit_rand(p, LogLevel::kInfo,
                    render_log("c.z.h.p.HikariPool#421",
                               "HikariPool-1 - Pool stats (total=10, active={int}, idle={int}, waiting=0)", rng));
        if (rng.bernoulli(keep * len_s / 1800))
          emit_rand(p, LogLevel::kInfo,
                    "c.n.d.DiscoveryClient#1355 DiscoveryClient_" + svc.app_name + "/" + pod.name + ":" +
                        std::to_string(svc.port) + " - registration status: 204");
        break;
      case ServiceKind::kDatabase:
        if (rng.bernoulli(keep * len_s / 600))
          emit_rand(p, LogLevel::kWarn,
                    render_log("",
                               "[Note] Aborted connection {pid} to db: 'app' user: 'app' host: '{ip}' (Got an error "
                               "reading communication packets)",
                               rng));
        break;
      case ServiceKind::kCache:
        if (rng.bernoulli(keep * len_s / 900)) {
          const TimeUs t = at();
          emit(t, p, LogLevel::kInfo, render_log("", "Background saving started by pid {pid}", rng));
          emit(t + 150000, p, LogLevel::kInfo, "DB saved on disk");
        }
        break;
    }

    // a slow database writes its slow-query log, whatever the cause
    if (svc.kind == ServiceKind::kDatabase && c.self_factor * mid.queue[p] > 2) {
      const std::int64_t n = rng.poisson(4 * len_s / 60);
      for (std::int64_t k = 0; k < n; ++k)
        emit_rand(p, LogLevel::kWarn,
                  render_log("",
                             "[Warning] Slow query: Query_time: 1.{ms} Lock_time: 0.000{int} Rows_sent: {count} "
                             "Rows_examined: {kb}",
                             rng));
    }

    if (c.fault < 0) continue;
    const auto& f = schedule.plans()[c.fault];
    const bool app = svc.kind == ServiceKind::kApp || svc.kind == ServiceKind::kGateway;
    switch (f.type) {
      case FaultType::kMemoryLeak: {
        const double usage = (pod.mem_base_mi + c.mem_extra_mi) / svc.mem_limit_mi;
        const std::int64_t gcs = rng.poisson((0.5 + 8 * c.progress) * len_s / 60);
        for (std::int64_t g = 0; g < gcs; ++g) {
          const bool full = usage > 0.7 && rng.bernoulli(0.5);
          const double heap_kb = svc.mem_limit_mi * 1024;
          const double used_kb = heap_kb * std::min(0.99, usage);
          const double after_kb = used_kb * rng.uniform(0.85, 0.97);
          const double pause_s = rng.uniform(0.01, 0.08) * (full ? 10 : 1);
          char buf[200];
          std::snprintf(buf, sizeof buf, "[%s (%s) %.0fK->%.0fK(%.0fK), %.4f secs]", full ? "Full GC" : "GC",
                        full ? "Ergonomics" : "Allocation Failure", used_kb, after_kb, heap_kb, pause_s);
          emit_rand(p, full ? LogLevel::kWarn : LogLevel::kInfo, buf);
        }
        if (app && c.progress > 0.85 && rng.bernoulli(0.5))
          emit_rand(p, LogLevel::kError,
                    "o.a.c.c.C.[.[.[/].[dispatcherServlet]#175 Servlet.service() for servlet [dispatcherServlet] threw "
                    "exception java.lang.OutOfMemoryError: Java heap space");
        break;
      }
      case FaultType::kCpuContention:
        if (app && rng.bernoulli(std::min(1.0, 0.6 * len_s / 60)))
          emit_rand(
              p, LogLevel::kWarn,
              render_log("c.z.h.p.HikariPool#787",
                         "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={int}s{ms}ms).",
                         rng));
        break;
      case FaultType::kDiskIo:
        if (svc.kind == ServiceKind::kDatabase) {
          const std::int64_t n = rng.poisson(2 * len_s / 60);
          for (std::int64_t k = 0; k < n; ++k)
            emit_rand(p, LogLevel::kWarn,
                      render_log("",
                                 "[Warning] InnoDB: page_cleaner: 1000ms intended loop took {kb}ms. The settings "
                                 "might not be optimal.",
                                 rng));
        } else if (svc.kind == ServiceKind::kCache) {
          emit_rand(p, LogLevel::kWarn,
                    "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting "
                    "for fsync to complete, this may slow down Redis.");
        }
        break;
      default:
        break;
    }
  }
}

void Simulator::Impl::generate_interval(std::int64_t index, SimChunk& out) const {
  const TimeUs t0 = config.start + index * interval_us;
  const TimeUs t1 = std::min(t0 + interval_us, end);
  if (t1 <= t0) return;
  const double length_s = static_cast<double>(t1 - t0) / kUsPerSecond;
  std::vector<SystemStep> steps(kStepsPerInterval);
  const double step_us = static_cast<double>(t1 - t0) / kStepsPerInterval;
  double mean_rate = 0;
  for (int k = 0; k < kStepsPerInterval; ++k) {
    model->evaluate(t0 + static_cast<TimeUs>((k + 0.5) * step_us), true, steps[k]);
    mean_rate += steps[k].entry_rate / kStepsPerInterval;
  }
  emit_metrics(index, t0, length_s, steps, out);

  // sampled traces
  Rng rng(stream_key(config.seed, kStreamTraces, static_cast<std::uint64_t>(index)));
  const std::int64_t n = rng.poisson(mean_rate * length_s * config.trace_sample_rate);
  const auto& gw_pods = topo.services[topo.gateway].pods;
  for (std::int64_t i = 0; i < n; ++i) {
    const double u = rng.uniform();
    const TimeUs start = t0 + static_cast<TimeUs>(u * static_cast<double>(t1 - t0));
    const auto k = std::min<int>(kStepsPerInterval - 1, static_cast<int>(u * kStepsPerInterval));
    const double pick = rng.uniform();
    const auto it = std::upper_bound(topo.entry_cumulative.begin(), topo.entry_cumulative.end(), pick);
    const auto entry =
        topo.entry_endpoints[std::min<size_t>(it - topo.entry_cumulative.begin(), topo.entry_endpoints.size() - 1)];
    // an up gateway pod (the load balancer skips dead ones)
    std::int32_t gw = gw_pods[rng.below(static_cast<std::int64_t>(gw_pods.size()))];
    if (steps[k].cond[gw].down) {
      bool found = false;
      for (std::int32_t q : gw_pods)
        if (!steps[k].cond[q].down) {
          gw = q;
          found = true;
          break;
        }
      if (!found) continue;
    }
    TraceGen gen(*this, steps[k], rng, out);
    gen.trace(start, entry, gw);
  }
  emit_background_logs(index, t0, t1, steps[kStepsPerInterval / 2], out);
}

// ---------------------------------------------------------------------------
// Simulator
// ---------------------------------------------------------------------------

Simulator::Simulator(const SimConfig& config) : impl_(std::make_unique<Impl>()) {
  validate(config);
  impl_->config = config;
  impl_->topo = build_topology(impl_->config, impl_->catalog);
  impl_->schedule = FaultSchedule(impl_->config, impl_->topo);
  impl_->labels = impl_->schedule.labels();
  std::sort(impl_->labels.begin(), impl_->labels.end(),
            [](const FaultEvent& a, const FaultEvent& b) { return a.start < b.start; });
  impl_->model = std::make_unique<SystemModel>(impl_->config, impl_->topo, impl_->schedule);
  impl_->interval_us = static_cast<TimeUs>(config.metric_interval_s) * kUsPerSecond;
  impl_->end = config.start + static_cast<TimeUs>(std::llround(config.hours * 3600.0 * kUsPerSecond));
  impl_->num_intervals = (impl_->end - config.start + impl_->interval_us - 1) / impl_->interval_us;
  impl_->intervals_per_chunk = std::max<std::int64_t>(1, 3600 / config.metric_interval_s);
}

Simulator::~Simulator() = default;

const SimConfig& Simulator::config() const { return impl_->config; }
const Catalog& Simulator::catalog() const { return impl_->catalog; }
const std::vector<FaultEvent>& Simulator::faults() const { return impl_->labels; }
const Topology& Simulator::topology() const { return impl_->topo; }
const FaultSchedule& Simulator::schedule() const { return impl_->schedule; }
TimeUs Simulator::end_time() const { return impl_->end; }

std::int64_t Simulator::num_chunks() const {
  return (impl_->num_intervals + impl_->intervals_per_chunk - 1) / impl_->intervals_per_chunk;
}
TimeUs Simulator::chunk_length_us() const { return impl_->intervals_per_chunk * impl_->interval_us; }

SimChunk Simulator::chunk(std::int64_t index) const {
  SimChunk out;
  const std::int64_t first = index * impl_->intervals_per_chunk;
  const std::int64_t last = std::min(impl_->num_intervals, first + impl_->intervals_per_chunk);
  out.begin = impl_->config.start + first * impl_->interval_us;
  out.end = std::min(impl_->end, impl_->config.start + last * impl_->interval_us);
  for (std::int64_t i = first; i < last; ++i) impl_->generate_interval(i, out);
  sort_by_time(out.spans);
  sort_by_time(out.logs);
  count_records(out);
  return out;
}

SimCounts Simulator::static_counts() const {
  SimCounts c;
  c.faults = static_cast<std::int64_t>(impl_->labels.size());
  for (const auto& f : impl_->labels) ++c.faults_by_type[f.fault_type];
  c.services = static_cast<std::int32_t>(impl_->topo.services.size());
  c.pods = static_cast<std::int32_t>(impl_->topo.pods.size());
  c.nodes = static_cast<std::int32_t>(impl_->topo.nodes.size());
  return c;
}

// ---------------------------------------------------------------------------

SimResult::SimResult(SimResult&& other) noexcept
    : catalog(std::move(other.catalog)), data(std::move(other.data)), counts(std::move(other.counts)) {
  data.catalog = &catalog;
  other.data.catalog = &other.catalog;
}

SimResult& SimResult::operator=(SimResult&& other) noexcept {
  catalog = std::move(other.catalog);
  data = std::move(other.data);
  counts = std::move(other.counts);
  data.catalog = &catalog;
  other.data.catalog = &other.catalog;
  return *this;
}

SimResult simulate(const SimConfig& config, const SimProgress& progress) {
  Simulator sim(config);
  const std::int64_t n = sim.num_chunks();
  std::vector<SimChunk> chunks(static_cast<size_t>(n));
  unsigned threads = config.threads > 0 ? static_cast<unsigned>(config.threads) : std::thread::hardware_concurrency();
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(n)));
  std::atomic<std::int64_t> next{0}, done{0};
  auto work = [&](bool report) {
    for (;;) {
      const std::int64_t i = next.fetch_add(1);
      if (i >= n) return;
      chunks[static_cast<size_t>(i)] = sim.chunk(i);
      const std::int64_t d = done.fetch_add(1) + 1;
      if (report && progress) progress(d, n);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, false);
  work(true);
  for (auto& th : pool) th.join();
  if (progress) progress(n, n);

  SimResult result;
  result.catalog = sim.catalog();
  result.data.catalog = &result.catalog;
  result.counts = sim.static_counts();
  size_t nm = 0, ns = 0, nl = 0;
  for (const auto& c : chunks) {
    nm += c.metrics.size();
    ns += c.spans.size();
    nl += c.logs.size();
  }
  result.data.metrics.reserve(nm);
  result.data.spans.reserve(ns);
  result.data.logs.reserve(nl);
  // Chunks are sorted; traces that cross a chunk seam are merged into the next chunk.
  std::vector<Span> pending_spans;
  std::vector<LogRecord> pending_logs;
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto& c = chunks[i];
    result.counts.add(c.counts);
    std::move(c.metrics.begin(), c.metrics.end(), std::back_inserter(result.data.metrics));
    const TimeUs release = i + 1 < chunks.size() ? chunks[i + 1].begin : std::numeric_limits<TimeUs>::max();
    append_merged(result.data.spans, pending_spans, c.spans, release);
    append_merged(result.data.logs, pending_logs, c.logs, release);
    c = SimChunk{};
  }
  result.data.faults = sim.faults();
  return result;
}

}  // namespace rslicer::sim
