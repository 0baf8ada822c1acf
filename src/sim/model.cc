#include "sim/model.h"

#include <algorithm>
#include <cmath>

#include "sim/rng.h"
#include "sim/simulator.h"

namespace rslicer::sim {

Moments Moments::lognormal(double mu, double sigma) {
  const double s2 = sigma * sigma;
  return {std::exp(mu + s2 / 2), std::exp(2 * mu + 2 * s2)};
}

double Moments::quantile(double z) const {
  if (m1 <= 0) return 0;
  const double var = std::max(m2 - m1 * m1, 1e-6 * m1 * m1);
  const double s2 = std::log(1 + var / (m1 * m1));
  const double mu = std::log(m1) - s2 / 2;
  return std::exp(mu + z * std::sqrt(s2));
}

double queue_factor(double utilisation) {
  const double u = std::clamp(utilisation, 0.0, 0.92);
  return 1.0 + u * u / (1.0 - u);  // ~1 when idle, 1.5 at half load, ~6 at 85%, 11.6 when saturated
}
double retransmit_prob(double loss) { return 1 - std::pow(1 - loss, 4); }
double timeout_prob(double loss) { return std::min(0.9, loss * loss); }

SystemModel::SystemModel(const SimConfig& config, const Topology& topology, const FaultSchedule& schedule)
    : config_(config), topo_(topology), schedule_(schedule) {}

double SystemModel::entry_rate(TimeUs t) const {
  const double t_s = static_cast<double>(t) / kUsPerSecond;
  const double hour = std::fmod(t_s / 3600.0, 24.0);
  const double daily =
      1 + config_.daily_amplitude * std::cos(6.283185307179586 * (hour - config_.peak_hour_utc) / 24.0);
  const std::uint64_t key = stream_key(config_.seed, kStreamTraffic);
  const double noise = config_.traffic_noise * (smooth_noise(key, t_s, 900) + 0.5 * smooth_noise(key + 1, t_s, 120));
  // at most one burst per 20-minute block, drawn from the block's own stream
  double burst = 1;
  if (config_.bursts_per_hour > 0) {
    constexpr double kBlockS = 1200;
    const auto block = static_cast<std::int64_t>(std::floor(t_s / kBlockS));
    Rng rng(stream_key(config_.seed, kStreamTraffic, static_cast<std::uint64_t>(block)));
    if (rng.bernoulli(config_.bursts_per_hour * kBlockS / 3600)) {
      const double length = rng.uniform(60, 300);
      const double begin = static_cast<double>(block) * kBlockS + rng.uniform(0, kBlockS - length);
      const double factor = rng.uniform(1.5, 3.0);
      if (t_s >= begin && t_s < begin + length) burst = factor;
    }
  }
  return config_.requests_per_s * daily * std::exp(noise) * burst;
}

namespace {

struct AttemptStats {
  double fail = 0;  // probability that an attempt fails at the connection level (retried)
  Moments ok;       // latency of an attempt that got a response
  Moments failed;   // latency of a failed attempt
  double err = 0;   // probability that a response is an error (not retried)
};

}  // namespace

void SystemModel::evaluate(TimeUs t, bool with_latency, SystemStep& out) const {
  const size_t np = topo_.pods.size();
  out.time = t;
  out.entry_rate = entry_rate(t);
  out.cond.assign(np, PodCondition{});
  out.server_rate.assign(np, 0);
  out.cpu_m.assign(np, 0);
  out.queue.assign(np, 1);
  out.mem_load_mi.assign(np, 0);
  out.rx.assign(np, 0);
  out.tx.assign(np, 0);
  out.syscall_r.assign(np, 0);
  out.syscall_w.assign(np, 0);
  for (size_t p = 0; p < np; ++p) out.cond[p] = schedule_.condition(static_cast<std::int32_t>(p), t);

  // Requests are balanced over the pods of a service that are up.
  std::vector<int> up(topo_.services.size(), 0);
  for (size_t p = 0; p < np; ++p)
    if (!out.cond[p].down) ++up[topo_.pods[p].service];
  auto pod_share = [&](std::int32_t pod) {
    const int u = up[topo_.pods[pod].service];
    return (out.cond[pod].down || u == 0) ? 0.0 : 1.0 / u;
  };

  for (const auto& e : topo_.endpoints) {
    const double rate_e = e.unit_rate * out.entry_rate;
    if (rate_e <= 0) continue;
    const bool db = topo_.services[e.service].kind == ServiceKind::kDatabase;
    for (std::int32_t p : topo_.services[e.service].pods) {
      const double r = rate_e * pod_share(p);
      if (r <= 0) continue;
      out.server_rate[p] += r;
      out.cpu_m[p] += r * e.cpu_ms;
      const double loss_extra = 1 + out.cond[p].loss;
      out.rx[p] += r * e.request_bytes * loss_extra;
      out.tx[p] += r * e.response_bytes * loss_extra;
      out.syscall_r[p] += r * (db ? 8 : 5);
      out.syscall_w[p] += r * (db ? 6 : 3);
      for (const auto& c : e.calls) {
        const auto& callee = topo_.endpoints[c.endpoint];
        const double rc = r * c.prob * c.repeat;
        out.tx[p] += rc * callee.request_bytes * loss_extra;
        out.rx[p] += rc * callee.response_bytes * loss_extra;
        out.syscall_r[p] += rc * 2;
        out.syscall_w[p] += rc * 2;
      }
    }
  }
  for (size_t p = 0; p < np; ++p) {
    const auto& pod = topo_.pods[p];
    const auto& svc = topo_.services[pod.service];
    const auto& c = out.cond[p];
    if (c.down) {
      out.cpu_m[p] = 0;
      continue;
    }
    out.cpu_m[p] += pod.idle_cpu_m + c.cpu_extra_m;
    out.queue[p] = queue_factor(out.cpu_m[p] / svc.cpu_limit_m);
    out.mem_load_mi[p] = std::min(0.15 * pod.mem_base_mi, out.server_rate[p] * 1.5) + c.mem_extra_mi;
    out.rx[p] += pod.net_base_rx;
    out.tx[p] += pod.net_base_tx;
    out.syscall_r[p] = (out.syscall_r[p] + pod.syscall_base) * c.io_factor;
    out.syscall_w[p] = (out.syscall_w[p] + pod.syscall_base * 0.6) * c.io_factor;
  }
  if (!with_latency) return;

  out.server_lat.assign(np, Moments{});
  out.server_err.assign(np, 0);
  out.client_rate.assign(np, 0);
  out.client_lat.assign(np, Moments{});
  std::vector<double> served(np, 0);  // rate weights of server_lat
  // Per endpoint, per pod of its service (same order as ServiceSpec::pods).
  std::vector<std::vector<Moments>> lat(topo_.endpoints.size());
  std::vector<std::vector<double>> err(topo_.endpoints.size());
  const int retries = std::max(0, config_.max_retries);
  const Moments net = Moments::lognormal(std::log(kNetMedianUs), kNetSigma);

  for (std::int32_t ei : topo_.endpoint_order) {
    const auto& e = topo_.endpoints[ei];
    const auto& svc = topo_.services[e.service];
    lat[ei].assign(svc.pods.size(), Moments{});
    err[ei].assign(svc.pods.size(), 0);
    const double rate_e = e.unit_rate * out.entry_rate;
    for (size_t k = 0; k < svc.pods.size(); ++k) {
      const std::int32_t p = svc.pods[k];
      const auto& c = out.cond[p];
      if (c.down) continue;
      const Moments self = Moments::lognormal(std::log(e.self_median_us * c.self_factor * out.queue[p]), e.self_sigma);
      if (!topo_.traced(e.service)) {
        lat[ei][k] = self;
        err[ei][k] = e.base_error_prob;
      } else {
        const double rate_pe = rate_e * pod_share(p);
        Moments calls_seq;
        Moments calls_par;  // the parallel branch with the largest mean
        double ok_prob = 1;
        for (const auto& call : e.calls) {
          const auto& callee_svc = topo_.services[topo_.endpoints[call.endpoint].service];
          // one attempt, over the callee's pods
          AttemptStats a;
          double ok_w = 0;
          const double n_b = static_cast<double>(callee_svc.pods.size());
          for (size_t kb = 0; kb < callee_svc.pods.size(); ++kb) {
            const std::int32_t b = callee_svc.pods[kb];
            const auto& cb = out.cond[b];
            if (cb.down) {
              a.fail += 1 / n_b;
              a.failed.mix_in(1 / n_b, Moments::constant(kConnectFailUs + c.delay_us));  // SYN leaves late
              continue;
            }
            const double loss = 1 - (1 - c.loss) * (1 - cb.loss);
            const double pt = timeout_prob(loss);
            const double pr = retransmit_prob(loss);
            a.fail += pt / n_b;
            a.failed.mix_in(pt / n_b, Moments::constant(kTimeoutUs));  // the client's timer
            const Moments rto{pr * kRtoUs, pr * kRtoUs * kRtoUs};
            // the request leaves the caller late, the response leaves the callee late
            const Moments ok =
                net.plus(lat[call.endpoint][kb]).plus(rto).plus(Moments::constant(c.delay_us + cb.delay_us));
            a.ok.mix_in((1 - pt) / n_b, ok);
            a.err += (1 - pt) / n_b * err[call.endpoint][kb];
            ok_w += (1 - pt) / n_b;
          }
          a.failed = a.failed.divided(a.fail);
          a.ok = a.ok.divided(ok_w);
          a.err = ok_w > 0 ? a.err / ok_w : 0;
          // retries after connection failures
          Moments call_m;
          Moments fails;     // sum of the failed attempts so far
          double reach = 1;  // probability of making attempt i
          double attempts = 0;
          for (int i = 0; i <= retries; ++i) {
            attempts += reach;
            call_m.mix_in(reach * (1 - a.fail), fails.plus(a.ok));
            fails = fails.plus(a.failed);
            reach *= a.fail;
          }
          call_m.mix_in(reach, fails);  // every attempt failed
          const double call_err = reach + (1 - reach) * a.err;
          // client side of the pod: every attempt is one client span
          Moments attempt_m;
          attempt_m.mix_in(a.fail, a.failed);
          attempt_m.mix_in(1 - a.fail, a.ok);
          const double attempt_rate = rate_pe * call.prob * call.repeat * attempts;
          out.client_rate[p] += attempt_rate;
          out.client_lat[p].mix_in(attempt_rate, attempt_m);
          // repeats and branch probability
          Moments rep;
          for (int r = 0; r < call.repeat; ++r) rep = rep.plus(call_m);
          Moments contrib;
          contrib.mix_in(call.prob, rep);
          const double rep_err = 1 - std::pow(1 - call_err, call.repeat);
          const bool app_call = topo_.traced(topo_.endpoints[call.endpoint].service);
          if (e.parallel && app_call) {
            if (contrib.m1 > calls_par.m1) calls_par = contrib;
          } else {
            calls_seq = calls_seq.plus(contrib);
          }
          ok_prob *= 1 - call.prob * rep_err * kPropagateProb;
        }
        // measured at the server: its own response delay is not in it
        const Moments normal = self.plus(calls_seq).plus(calls_par);
        const Moments thrown = self.scaled(kExceptionSelfShare);
        Moments total;
        total.mix_in(c.exception_prob, thrown);
        total.mix_in(1 - c.exception_prob, normal);
        lat[ei][k] = total;
        err[ei][k] =
            c.exception_prob + (1 - c.exception_prob) * (1 - (1 - c.return_prob) * (1 - e.base_error_prob) * ok_prob);
      }
      const double rate_pe = rate_e * pod_share(p);
      if (rate_pe > 0) {
        out.server_lat[p].mix_in(rate_pe, lat[ei][k]);
        out.server_err[p] += rate_pe * err[ei][k];
        served[p] += rate_pe;
      }
    }
  }
  for (size_t p = 0; p < np; ++p) {
    out.server_lat[p] = out.server_lat[p].divided(served[p]);
    out.server_err[p] = served[p] > 0 ? out.server_err[p] / served[p] : 0;
    out.client_lat[p] = out.client_lat[p].divided(out.client_rate[p]);
  }
}

}  // namespace rslicer::sim
