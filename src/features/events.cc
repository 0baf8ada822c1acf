#include "features/events.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/errors.h"
#include "core/hash.h"
#include "core/strings.h"
#include "core/time.h"

namespace rslicer {

namespace {

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  return x;
}

// Sorted (key, count) vectors: out += sign * in.
void merge_counts(std::vector<std::pair<std::uint64_t, double>>& out,
                  const std::vector<std::pair<std::uint64_t, double>>& in, double sign) {
  if (in.empty()) return;
  std::vector<std::pair<std::uint64_t, double>> r;
  r.reserve(out.size() + in.size());
  size_t i = 0, j = 0;
  while (i < out.size() || j < in.size()) {
    if (j >= in.size() || (i < out.size() && out[i].first < in[j].first)) {
      r.push_back(out[i++]);
    } else if (i >= out.size() || in[j].first < out[i].first) {
      r.push_back({in[j].first, sign * in[j].second});
      ++j;
    } else {
      r.push_back({out[i].first, out[i].second + sign * in[j].second});
      ++i;
      ++j;
    }
  }
  // drop counts that cancelled out (a pane subtracted from the profile)
  r.erase(std::remove_if(r.begin(), r.end(), [](const auto& p) { return std::fabs(p.second) < 1e-9; }), r.end());
  out.swap(r);
}

// Which 10-s stretches of a slice were covered by log collection (EventOptions::log_gaps). Only the entities that
// have a joined line somewhere in the slice count (so a burst of an unlogged entity's spans, a database's, moves
// nothing), each at its own share of spans with a joined line among the spans between the slice's first and last
// joined span (a slice that reaches into a log file for its last seconds only must not expect the file's share
// from its whole length). A stretch is a gap where the entities were expected to give at least kMinExpected
// joined spans and gave under a quarter of that, and so did the others with the entity that fell shortest left
// out: one entity, however large its share of the logs, cannot make a gap, so its falling silent reads as its
// steps missing. A slice without any joined line is a gap throughout. Collection starts and stops between
// stretch borders, so a gap's edges are found to the span: a stretch without a joined line next to a gap is part
// of it, and in the covered stretch next to a gap the spans beyond its first (last) joined span on the gap's side
// are not covered either. Where collection starts or stops inside the slice (the spans before its first log line, or
// after its last, were expected to give kMinExpected joined spans and gave under a quarter of that), the spans that
// start before the first line or end after the last are not covered.
class LogCoverage {
 public:
  static constexpr TimeUs kStretch = 10 * kUsPerSecond;
  static constexpr double kMinExpected = 8, kDrop = 4;
  // `joined(i)`: whether span i has a log line joined.
  template <class Joined>
  LogCoverage(const Slice& slice, Joined joined) : start_(slice.start) {
    const size_t n = static_cast<size_t>(std::max<TimeUs>(0, slice.end - slice.start) / kStretch) + 1;
    std::vector<char> with_line(slice.spans.size());
    std::unordered_map<Id, size_t> logging;  // entities with a joined line in the slice -> row
    TimeUs joined_from = std::numeric_limits<TimeUs>::max(), joined_to = std::numeric_limits<TimeUs>::min();
    for (size_t i = 0; i < slice.spans.size(); ++i)
      if ((with_line[i] = joined(i))) {
        logging.emplace(slice.spans[i].entity, logging.size());
        joined_from = std::min(joined_from, slice.spans[i].start);
        joined_to = std::max(joined_to, slice.spans[i].start);
      }
    covered_.assign(n, !logging.empty());
    first_.assign(n, std::numeric_limits<TimeUs>::max());
    last_.assign(n, std::numeric_limits<TimeUs>::min());
    if (logging.empty()) return;
    TimeUs first = std::numeric_limits<TimeUs>::max(), last = std::numeric_limits<TimeUs>::min();
    for (const LogRecord& l : slice.logs) {
      first = std::min(first, l.time);
      last = std::max(last, l.time);
    }
    // Per entity, columns 0..n-1: spans and joined spans per stretch; n and n + 1: before the slice's first log
    // line, after its last. Its share of joined spans is taken where logs were evidently being collected: among
    // the spans that start between the slice's first and last joined span.
    const size_t cols = n + 2, m = logging.size();
    std::vector<double> spans(m * cols, 0), with(m * cols, 0), inside(m, 0), inside_with(m, 0), share(m, 0);
    auto each_span = [&](auto&& f) {
      for (size_t i = 0; i < slice.spans.size(); ++i)
        if (auto e = logging.find(slice.spans[i].entity); e != logging.end()) f(i, e->second, slice.spans[i].start);
    };
    each_span([&](size_t i, size_t e, TimeUs t) {
      if (t >= joined_from && t <= joined_to) {
        inside[e] += 1;
        inside_with[e] += with_line[i];
      }
      spans[e * cols + n] += t < first;
      spans[e * cols + n + 1] += t > last;
    });
    for (size_t e = 0; e < m; ++e) share[e] = inside[e] > 0 ? inside_with[e] / inside[e] : 0.0;
    // whether column c fell short: the entities were expected to give kMinExpected joined spans there and gave
    // under a quarter of them, and (`others`) so did the others with the one that fell shortest left out
    auto short_of_lines = [&](size_t c, bool others) {
      double expected = 0, seen = 0, worst = -1, worst_expected = 0, worst_seen = 0;
      for (size_t e = 0; e < m; ++e) {
        const double x = spans[e * cols + c] * share[e], w = with[e * cols + c];
        expected += x;
        seen += w;
        if (x - w > worst) {
          worst = x - w;
          worst_expected = x;
          worst_seen = w;
        }
      }
      const double rest = expected - worst_expected;
      return expected >= kMinExpected && seen * kDrop < expected &&
             (!others || (rest > 0 && (seen - worst_seen) * kDrop < rest));
    };
    // (before the first line of any entity or after the last, one entity falling silent changes nothing)
    if (short_of_lines(n, false)) from_ = first;
    if (short_of_lines(n + 1, false)) to_ = last;
    // the stretches, over the spans inside collection's start and stop
    std::vector<double> any(n, 0);
    each_span([&](size_t i, size_t e, TimeUs t) {
      if (t < from_ || t > to_) return;
      const size_t b = stretch(t, n);
      spans[e * cols + b] += 1;
      if (!with_line[i]) return;
      with[e * cols + b] += 1;
      any[b] += 1;
      first_[b] = std::min(first_[b], t);
      last_[b] = std::max(last_[b], t);
    });
    for (size_t b = 0; b < n; ++b)
      if (short_of_lines(b, true)) covered_[b] = false;
    // a gap reaches through the stretches beside it that have no joined line (too few spans to tell alone), so a
    // stretch still covered next to a gap has a joined span: its first_ / last_ below are set
    for (size_t b = 1; b < n; ++b)
      if (!covered_[b - 1] && any[b] == 0) covered_[b] = false;
    for (size_t b = n - 1; b-- > 0;)
      if (!covered_[b + 1] && any[b] == 0) covered_[b] = false;
  }
  // A span [t, end): it lies inside the slice's logging (a span that ends after collection stopped may have lost
  // its last lines) and in a covered stretch.
  bool covered(TimeUs t, TimeUs end) const {
    const size_t b = stretch(t, covered_.size());
    if (!covered_[b] || t < from_ || end > to_) return false;
    if (b + 1 < covered_.size() && !covered_[b + 1] && t > last_[b]) return false;  // after collection stopped
    if (b > 0 && !covered_[b - 1] && t < first_[b]) return false;                   // before it started
    return true;
  }

 private:
  size_t stretch(TimeUs t, size_t n) const {
    return static_cast<size_t>(std::clamp<TimeUs>((t - start_) / kStretch, 0, static_cast<TimeUs>(n) - 1));
  }
  TimeUs start_;
  std::vector<bool> covered_;
  std::vector<TimeUs> first_, last_;  // per stretch: start of its first and last span with a joined line
  // where collection started and stopped inside the slice (none: the slice's whole length)
  TimeUs from_ = std::numeric_limits<TimeUs>::min(), to_ = std::numeric_limits<TimeUs>::max();
};

double count_of(const std::vector<std::pair<std::uint64_t, double>>& v, std::uint64_t k) {
  auto it = std::lower_bound(v.begin(), v.end(), k, [](const auto& p, std::uint64_t x) { return p.first < x; });
  return it != v.end() && it->first == k ? it->second : 0.0;
}

// The z whose upper normal tail is `p` (0 for p >= 0.5): Abramowitz and Stegun 26.2.23, then two Newton steps.
double upper_tail_z(double p) {
  if (!(p < 0.5)) return 0;
  p = std::max(p, 1e-300);
  const double t = std::sqrt(-2.0 * std::log(p));
  double z =
      t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  for (int i = 0; i < 2; ++i) {
    const double q = 0.5 * std::erfc(z / std::sqrt(2.0));
    const double density = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
    if (density <= 0) break;
    z += (q - p) / density;
  }
  return z;
}

// EventOptions::median_tail_z: windows of up to this many calls are counted
constexpr int kMaxTailCalls = 64;

// The chance that the median of `n` calls drawn from the profile `p` is `m` or longer, as a z: that at least
// n/2 + 1 of them (LogHist::quantile(0.5) reads the (n/2 + 1)-th longest) fall in m's histogram bin or above (a
// median read off the histogram lies in its bin whatever the calls' exact times; for n > 1 this errs towards a
// larger chance). Infinite beyond kMaxTailCalls calls, where the robust z understates a shifted median rather than
// overstates it. A time the profile never saw counts as half a call.
double median_chance_z(const LogHist& p, double m, double n) {
  const int calls = static_cast<int>(std::lround(n));
  if (calls < 1 || calls > kMaxTailCalls || p.n <= 0) return std::numeric_limits<double>::infinity();
  const double share = std::clamp((p.from_bin_of(m) + 0.5) / (p.n + 1.0), 1e-300, 1.0 - 1e-12);
  const int k = calls / 2 + 1;
  // P(X >= k), X ~ Binomial(calls, share): the first term from log-gammas, each next one by the terms' ratio
  const double odds = share / (1.0 - share);
  double term = std::exp(std::lgamma(calls + 1.0) - std::lgamma(k + 1.0) - std::lgamma(calls - k + 1.0) +
                         k * std::log(share) + (calls - k) * std::log1p(-share));
  double tail = 0;
  for (int j = k; j <= calls && term > 0; ++j) {
    tail += term;
    term *= odds * (calls - j) / (j + 1.0);
  }
  return upper_tail_z(tail);
}

// Robust z of the window median against the profile (0 when either side has too few samples); `alarm`: the
// same bounded by EventOptions::median_tail_z.
double robust_z(const LogHist& w, const LogHist& p, const EventOptions& o, double* wm, double* pm, double* alarm,
                double* slow) {
  *alarm = 0;
  *slow = 0;
  *wm = w.quantile(0.5);
  *pm = p.quantile(0.5);
  const double need = o.min_window_samples > 0 ? std::min(o.min_window_samples, o.min_samples) : o.min_samples;
  if (w.n < need || p.n < o.min_samples) return 0;  // need >= 1: both options are at least 1 when they count
  // the calls that slowed: in or above the bin of the geometric mean of the normal and the window's medians
  if (*wm > *pm) *slow = std::min(1.0, w.from_bin_of(std::sqrt(std::max(*pm, 1.0) * *wm)) / w.n);
  const double iqr = p.quantile(0.75) - p.quantile(0.25);
  const double scale = std::max({iqr / 1.349, o.floor_us, o.rel_floor * *pm});
  // fewer window samples than min_samples (min_window_samples): the z shrinks as the median's noise grows
  const double shrink = w.n < o.min_samples ? std::sqrt(w.n / o.min_samples) : 1.0;
  const double z = shrink * (*wm - *pm) / scale;
  *alarm = z;
  if (o.median_tail_z > 0 && z > 0) {
    const double tail = median_chance_z(p, *wm, w.n);
    if (tail < o.median_tail_z) *alarm = std::min(z, tail);
  }
  return z;
}

}  // namespace

// ---------------------------------------------------------------- LogHist

namespace {

int bin_of(double us) { return std::clamp(static_cast<int>(std::log10(std::max(us, 1.0)) * 4.0), 0, kHistBins - 1); }

}  // namespace

void LogHist::add(double us, double w) {
  c[bin_of(us)] += w;
  n += w;
}

void LogHist::merge(const LogHist& o, double sign) {
  for (int i = 0; i < kHistBins; ++i) c[i] += sign * o.c[i];
  n += sign * o.n;
}

double LogHist::quantile(double q) const {
  if (n <= 1e-9) return 0;
  const double target = q * n;
  double acc = 0;
  for (int i = 0; i < kHistBins; ++i) {
    if (c[i] <= 0) continue;
    if (acc + c[i] >= target) {
      const double f = c[i] > 0 ? std::clamp((target - acc) / c[i], 0.0, 1.0) : 0.5;
      return std::pow(10.0, (i + f) / 4.0);  // interpolate inside the bin on the log scale
    }
    acc += c[i];
  }
  return std::pow(10.0, kHistBins / 4.0);
}

double LogHist::from_bin_of(double us) const {
  double acc = 0;
  for (int i = bin_of(us); i < kHistBins; ++i) acc += c[i];
  return acc;
}

// ---------------------------------------------------------------- EventStats

void EventStats::merge(const EventStats& o, double sign) {
  n += sign * o.n;
  errors += sign * o.errors;
  warns += sign * o.warns;
  panes += sign * o.panes;
  a.merge(o.a, sign);
  b.merge(o.b, sign);
  with_steps += sign * o.with_steps;
  error_step += sign * o.error_step;
  for (size_t i = 0; i < lines.size(); ++i) lines[i] += sign * o.lines[i];
  merge_counts(steps, o.steps, sign);
  merge_counts(pairs, o.pairs, sign);
}

double EventStats::judged() const {
  double t = 0;
  for (double c : lines) t += c;
  return t;
}

// ---------------------------------------------------------------- EventProfile

namespace {

// Adds (sign > 0) or removes a pane start of an ascending list; panes mostly come in time order.
void track_start(std::vector<TimeUs>& starts, TimeUs t, double sign) {
  if (sign > 0) {
    if (starts.empty() || starts.back() < t) starts.push_back(t);
    else if (auto it = std::lower_bound(starts.begin(), starts.end(), t); it == starts.end() || *it != t)
      starts.insert(it, t);
  } else if (auto it = std::lower_bound(starts.begin(), starts.end(), t); it != starts.end() && *it == t) {
    starts.erase(it);
  }
}

}  // namespace

void EventProfile::add(const PaneSummary& pane, double sign) {
  panes_ += sign;
  for (const auto& e : pane.events) stats_[e.key].merge(e.stats, sign);
  track_start(starts_, pane.start, sign);
}

void EventProfile::merge(const EventProfile& other, double sign) {
  panes_ += sign * other.panes_;
  for (const auto& [k, s] : other.stats_) stats_[k].merge(s, sign);
  for (TimeUs t : other.starts_) track_start(starts_, t, sign);
}

size_t EventProfile::overlap(const std::vector<TimeUs>& starts) const {
  size_t n = 0;
  for (TimeUs t : starts) n += std::binary_search(starts_.begin(), starts_.end(), t);
  return n;
}

const EventStats* EventProfile::find(std::uint64_t key) const {
  auto it = stats_.find(key);
  return it == stats_.end() ? nullptr : &it->second;
}

namespace {

nlohmann::json hist_json(const LogHist& h) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kHistBins; ++i)
    if (h.c[i] > 0) j[std::to_string(i)] = h.c[i];
  return j;
}

LogHist hist_from(const nlohmann::json& j) {
  LogHist h;
  for (const auto& [k, v] : j.items()) {
    const int i = std::stoi(k);
    if (i < 0 || i >= kHistBins) throw ModelError(cat("event profile: histogram bin ", i, " out of range"));
    h.c[i] = v.get<double>();
    h.n += h.c[i];
  }
  return h;
}

nlohmann::json counts_json(const std::vector<std::pair<std::uint64_t, double>>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, c] : v) a.push_back({std::to_string(k), c});
  return a;
}

std::vector<std::pair<std::uint64_t, double>> counts_from(const nlohmann::json& j) {
  std::vector<std::pair<std::uint64_t, double>> v;
  for (const auto& e : j) v.push_back({std::stoull(e.at(0).get<std::string>()), e.at(1).get<double>()});
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

nlohmann::json EventProfile::to_json() const {
  std::map<std::uint64_t, const EventStats*> sorted;  // deterministic files
  for (const auto& [k, s] : stats_) sorted[k] = &s;
  nlohmann::json keys = nlohmann::json::object();
  for (const auto& [k, sp] : sorted) {
    const EventStats& s = *sp;
    keys[std::to_string(k)] = {{"n", s.n},
                               {"errors", s.errors},
                               {"warns", s.warns},
                               {"panes", s.panes},
                               {"a", hist_json(s.a)},
                               {"b", hist_json(s.b)},
                               {"with_steps", s.with_steps},
                               {"error_step", s.error_step},
                               {"lines", s.lines},
                               {"steps", counts_json(s.steps)},
                               {"pairs", counts_json(s.pairs)}};
  }
  return {{"panes", panes_}, {"keys", keys}, {"pane_starts", starts_}};
}

EventProfile EventProfile::from_json(const nlohmann::json& j) {
  EventProfile p;
  try {
    p.panes_ = j.at("panes").get<double>();
    if (j.contains("pane_starts")) {
      p.starts_ = j.at("pane_starts").get<std::vector<TimeUs>>();
      if (!std::is_sorted(p.starts_.begin(), p.starts_.end()))
        throw ModelError("event profile: pane_starts are not in ascending order");
    }
    for (const auto& [k, v] : j.at("keys").items()) {
      EventStats s;
      s.n = v.at("n").get<double>();
      s.errors = v.at("errors").get<double>();
      s.warns = v.at("warns").get<double>();
      s.panes = v.at("panes").get<double>();
      s.a = hist_from(v.at("a"));
      s.b = hist_from(v.at("b"));
      s.with_steps = v.at("with_steps").get<double>();
      s.error_step = v.at("error_step").get<double>();
      s.lines = v.at("lines").get<std::array<double, 16>>();
      s.steps = counts_from(v.at("steps"));
      s.pairs = counts_from(v.at("pairs"));
      p.stats_[std::stoull(k)] = std::move(s);
    }
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed event profile: ", e.what()));
  }
  return p;
}

const config::Schema<EventOptions>& EventOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<EventOptions>("events")
          .text("profile", &EventOptions::profile,
                "loo: every pane but those around the slice (offline); causal: past panes only (online); "
                "reference: only the panes inside `reference`",
                {"loo", "causal", "reference"})
          .text("reference", &EventOptions::reference,
                "profile = reference: the normal periods, START/END[,START/END...] in ISO-8601 (UTC without offset); "
                "the other profiles ignore it")
          .num("exclusion_s", &EventOptions::exclusion_s,
               "loo: panes within this of the slice window are left out of its profile", Range::at_least(0))
          .num("horizon_s", &EventOptions::horizon_s, "causal: panes older than this leave the profile",
               Range::above(0))
          .num("min_samples", &EventOptions::min_samples,
               "fewer window or profile samples of a statistic: its deviation is 0 (unknown)", Range::at_least(1))
          .num("min_window_samples", &EventOptions::min_window_samples,
               "time statistics: calls a window needs for a z, if fewer than min_samples (0 = min_samples); the z "
               "shrinks by sqrt(n / min_samples). 1 helps where traces are sampled (docs/results.md); -1: chosen "
               "from the data (1 where sparse_edge_share of the windows' call edges have fewer than min_samples "
               "calls, else 0), and saved so in a model",
               Range::at_least(-1))
          .num("sparse_edge_share", &EventOptions::sparse_edge_share,
               "min_window_samples = -1: the share of window call edges with fewer than min_samples calls from "
               "which the data counts as sparse (sampled or low-rate traces)",
               Range::closed(0, 1))
          .num("floor_us", &EventOptions::floor_us, "robust scale floor of time z values (microseconds)",
               Range::above(0))
          .num("rel_floor", &EventOptions::rel_floor, "robust scale floor as a share of the profile median",
               Range::at_least(0))
          .num("expected_step", &EventOptions::expected_step,
               "a log step is expected when this share of the profile's spans have it", Range::open_closed(0, 1))
          .num("rare_pair", &EventOptions::rare_pair, "a step pair is rare below this share of the profile's spans",
               Range::closed_open(0, 1))
          .flag("latest_pane", &EventOptions::latest_pane,
                "time z values (call lag and wait, span duration and self time) also from the slice's latest pane "
                "alone, scaled to the window's count: a fault shows in its first minute")
          .num("median_tail_z", &EventOptions::median_tail_z,
               "what the event AD score may rest on: a time z counts in full only where the chance that the median "
               "of as many calls from the profile is as high is below this normal tail (counted up to 64 calls; "
               "more pass); below it the z is at most that chance's z: one slow call among hundreds or a few thousand "
               "normal ones is no fault. Root cause ranking keeps the robust z (0: off)",
               Range::at_least(0))
          .flag("split_failed_calls", &EventOptions::split_failed_calls,
                "a span whose call into another entity failed counts under its own operation key, \"<operation> (a "
                "call failed)\", and its ERROR/WARN lines not as errors of their templates: a failure is charged "
                "where it starts, not to every caller")
          .flag("child_steps", &EventOptions::child_steps,
                "the operations of a span's direct child spans in the same entity (inner and client spans) are steps "
                "of its pattern beside its log lines, so a span that stops calling what it normally calls shows "
                "without logs")
          .flag("failed_call_steps", &EventOptions::failed_call_steps,
                "with split_failed_calls, the log steps of a span whose call failed (its ERROR steps, missing "
                "steps, early end) count for its entity; off, they do not: a caller's reaction to a failed call "
                "names the call, not a fault of the caller")
          .flag("log_gaps", &EventOptions::log_gaps,
                "spans where logs were not being collected are not judged on their log steps: in a 10-s stretch where "
                "far fewer spans than in the slice's stretches with log lines have a line joined (log collection "
                "starting late, a gap in the log files, logs kept for part of the traced time only), before the "
                "slice's first log line or after its last where spans there should have logged, or in a slice "
                "without any joined line (off: every span is, and a gap reads as steps missing; with child_steps "
                "every span is)")
          .flag("client_span_peers", &EventOptions::client_span_peers,
                "a client span that names its callee (OTLP peer.service, server.address) and has no child span "
                "elsewhere is a call into that callee (a database, an uninstrumented service)")
          .num("trace_tokens_per_entity", &EventOptions::trace_tokens_per_entity,
               "trace token budget per entity (the most deviant are kept)", Range::closed(1, 256))
          .num("log_tokens_per_entity", &EventOptions::log_tokens_per_entity,
               "log token budget per entity (the most deviant are kept)", Range::closed(1, 256))
          // (profile = reference without periods is refused by FeatureExtractor: --set validates one key at a time)
          .rule([](const EventOptions& o, const std::string&) {
            if (!o.reference.empty()) reference_periods(o.reference);
          });
  return s;
}

std::vector<std::pair<TimeUs, TimeUs>> reference_periods(const std::string& reference) {
  std::vector<std::pair<TimeUs, TimeUs>> out;
  size_t at = 0;
  while (at <= reference.size()) {
    size_t comma = reference.find(',', at);
    if (comma == std::string::npos) comma = reference.size();
    const std::string part(trim(std::string_view(reference).substr(at, comma - at)));
    const size_t slash = part.find('/');
    const std::string_view text(part);
    const auto a = slash == std::string::npos ? std::nullopt : parse_datetime(trim(text.substr(0, slash)));
    const auto b = slash == std::string::npos ? std::nullopt : parse_datetime(trim(text.substr(slash + 1)));
    RSLICER_CHECK(a && b, InvalidInput, "features.events.reference: '", part,
                  "' is not START/END with ISO-8601 times (e.g. 2023-01-30T11:38:00Z/2023-01-30T11:41:00Z)");
    RSLICER_CHECK(*a < *b, InvalidInput, "features.events.reference: '", part, "' ends before it starts");
    out.emplace_back(*a, *b);
    at = comma + 1;
  }
  return out;
}

// ---------------------------------------------------------------- EventSummarizer

EventSummarizer::EventSummarizer(const Catalog& catalog, Text template_text, TimeUs stride, const EventOptions& options)
    : catalog_(catalog),
      template_text_(std::move(template_text)),
      stride_(stride),
      client_span_peers_(options.client_span_peers),
      split_failed_calls_(options.split_failed_calls),
      failed_call_steps_(options.failed_call_steps),
      child_steps_(options.child_steps),
      log_gaps_(options.log_gaps) {}

const std::string& EventSummarizer::key_name(std::uint64_t key) const {
  static const std::string unknown = "unknown";
  auto it = names_.find(key);
  return it == names_.end() ? unknown : it->second;
}

std::uint64_t EventSummarizer::key_of(EventKind kind, const std::string& name) {
  const std::uint64_t k = mix(static_cast<std::uint64_t>(kind) + 1, fnv1a(name));
  names_.emplace(k, name);
  return k;
}

std::uint64_t EventSummarizer::named_step(const std::string& text) {
  const std::uint64_t k = fnv1a(text) | 1;  // never 0
  names_.emplace(k, text);
  return k;
}

std::uint64_t EventSummarizer::step_of(Id template_id) {
  auto it = steps_.find(template_id);
  if (it != steps_.end()) return it->second;
  const std::uint64_t k = named_step(template_id == kNoId ? std::string("<unparsed>") : template_text_(template_id));
  steps_.emplace(template_id, k);
  return k;
}

std::uint64_t EventSummarizer::child_step_of(const Span& child) {
  const std::uint64_t id = (static_cast<std::uint64_t>(catalog_.service_of(child.entity)) << 32) | child.operation;
  auto it = child_steps_of_.find(id);
  if (it != child_steps_of_.end()) return it->second;
  const std::uint64_t k =
      named_step(cat(kChildStepMark, service_name(child.entity), " ", operation_name(child.operation)));
  child_steps_of_.emplace(id, k);
  return k;
}

const std::string& EventSummarizer::operation_name(Id op) const {
  static const std::string unknown = "unknown";
  return op == kNoId || op >= catalog_.operations.size() ? unknown : catalog_.operations.name(op);
}

const std::string& EventSummarizer::service_name(Id entity) {
  static const std::string unknown = "unknown";
  if (entity == kNoId || entity >= catalog_.entities.size()) return unknown;
  return catalog_.entities.name(catalog_.service_of(entity));
}

Id EventSummarizer::callee_of_peer(Id peer) {
  if (peer == kNoId || peer >= catalog_.entity_info.size()) return kNoId;
  if (catalog_.entity_info[peer].kind != EntityKind::kService) return peer;
  if (sole_pod_entities_ != catalog_.entity_info.size()) {
    sole_pod_entities_ = catalog_.entity_info.size();
    constexpr Id kSeveral = kNoId - 1;
    sole_pod_.assign(sole_pod_entities_, kNoId);
    for (Id e = 0; e < sole_pod_entities_; ++e) {
      const EntityInfo& info = catalog_.entity_info[e];
      if ((info.kind != EntityKind::kPod && info.kind != EntityKind::kInstance) || info.service >= sole_pod_entities_)
        continue;
      Id& sole = sole_pod_[info.service];
      sole = sole == kNoId ? e : kSeveral;
    }
    for (Id& e : sole_pod_)
      if (e == kSeveral) e = kNoId;
  }
  return sole_pod_[peer] == kNoId ? peer : sole_pod_[peer];
}

Id EventSummarizer::named_callee(const Span& s) {
  if (s.peer == kNoId || !client_span_peers_) return kNoId;
  const Id callee = callee_of_peer(s.peer);
  return callee != kNoId && catalog_.service_of(callee) != catalog_.service_of(s.entity) ? callee : kNoId;
}

PaneSummary EventSummarizer::summarize(const Slice& slice) {
  PaneSummary out;
  out.start = slice.start;
  const TimeUs pane_end = slice.start + stride_;
  // (entity, key) -> stats, and the kind of each key
  std::map<std::pair<Id, std::uint64_t>, EventStats> acc;
  std::unordered_map<std::uint64_t, EventKind> kinds;
  std::unordered_map<std::uint64_t, Id> callers;  // edge key -> the caller's service
  auto stats = [&](EventKind kind, Id entity, std::uint64_t key) -> EventStats& {
    kinds.emplace(key, kind);
    return acc[{entity, key}];
  };

  // Index the window's spans by id and its log lines by span id.
  std::unordered_map<IdString, size_t> by_id;
  by_id.reserve(slice.spans.size());
  for (size_t i = 0; i < slice.spans.size(); ++i)
    if (!slice.spans[i].span_id.empty()) by_id.emplace(slice.spans[i].span_id, i);
  std::vector<std::vector<size_t>> children(slice.spans.size());
  for (size_t i = 0; i < slice.spans.size(); ++i) {
    const Span& s = slice.spans[i];
    if (s.parent_id.empty()) continue;
    auto it = by_id.find(s.parent_id);
    if (it != by_id.end() && it->second != i) children[it->second].push_back(i);
  }
  std::unordered_map<IdString, std::vector<size_t>> logs_of;
  for (size_t i = 0; i < slice.logs.size(); ++i)
    if (!slice.logs[i].span_id.empty() && by_id.count(slice.logs[i].span_id)) logs_of[slice.logs[i].span_id].push_back(i);

  // (with child_steps every span is judged: no coverage to measure)
  std::optional<LogCoverage> log_coverage;
  if (log_gaps_ && !child_steps_)
    log_coverage.emplace(
        slice, [&](size_t i) { return !slice.spans[i].span_id.empty() && logs_of.count(slice.spans[i].span_id) > 0; });

  // Whether a call of span i failed: a span of another entity under it (below spans of its own entity) is an
  // error, or one of those own spans is a failed client span naming another service. Memoised per span; the walk
  // is bounded by the slice's span count (parent ids may form a cycle in bad data).
  std::vector<signed char> failed(split_failed_calls_ ? slice.spans.size() : 0, -1);
  std::vector<size_t> walk;
  auto call_failed = [&](size_t i) -> bool {
    if (!split_failed_calls_) return false;
    if (failed[i] >= 0) return failed[i] != 0;
    const Id own = slice.spans[i].entity;
    bool out = false;
    walk.assign(1, i);
    for (size_t steps = 0; !walk.empty() && !out && steps <= slice.spans.size(); ++steps) {
      const size_t x = walk.back();
      walk.pop_back();
      bool elsewhere = false;
      for (size_t c : children[x]) {
        if (slice.spans[c].entity == own) {
          walk.push_back(c);
        } else {
          elsewhere = true;
          out |= slice.spans[c].error;
        }
      }
      if (!elsewhere && slice.spans[x].error && named_callee(slice.spans[x]) != kNoId) out = true;
    }
    failed[i] = out ? 1 : 0;
    return out;
  };

  std::vector<std::uint64_t> seq, uniq, pairs;
  bool pane_has_gap = false;
  for (size_t i = 0; i < slice.spans.size(); ++i) {
    const Span& s = slice.spans[i];
    if (s.start < slice.start || s.start >= pane_end) continue;  // the head pane's spans only
    const std::string& svc = service_name(s.entity);
    // the operation
    std::string op_key = svc + "|" + operation_name(s.operation);
    const bool failed_call = call_failed(i);
    if (failed_call) op_key += kFailedCallMark;
    EventStats& op = stats(EventKind::kOperation, s.entity, key_of(EventKind::kOperation, op_key));
    op.n += 1;
    op.errors += s.error ? 1 : 0;
    std::int64_t child_us = 0;
    bool calls_out = false;
    for (size_t c : children[i]) {
      child_us += slice.spans[c].duration_us;
      calls_out |= slice.spans[c].entity != s.entity;
    }
    // A client span without a child span elsewhere that names its callee (a database, an uninstrumented
    // service): a call into that entity, charged to it as an edge like a traced call.
    const Id peer_callee = calls_out ? kNoId : named_callee(s);
    calls_out |= peer_callee != kNoId;
    op.a.add(static_cast<double>(s.duration_us));
    // Self time of the entity's own work. A span that calls another entity is a call: its time beyond the
    // callee's is the network and queueing between them, which belongs to the edge into the callee.
    if (!calls_out) op.b.add(static_cast<double>(std::max<std::int64_t>(0, s.duration_us - child_us)));
    // its steps: the log lines joined to it (their template ids, in time order) and, with child_steps, the
    // operations of its direct child spans in the same entity (which steps occur; pairs are of log lines)
    const bool in_gap = log_coverage && !log_coverage->covered(s.start, s.start + s.duration_us);
    if (in_gap) {
      ++log_gap_counts_.gap_spans;
      pane_has_gap = true;
    }
    if ((!failed_call || failed_call_steps_) && !in_gap) {
      ++log_gap_counts_.judged;
      seq.clear();
      bool error = false;
      if (auto lit = s.span_id.empty() ? logs_of.end() : logs_of.find(s.span_id); lit != logs_of.end())
        for (size_t l : lit->second) {  // logs are in time order
          seq.push_back(step_of(slice.logs[l].template_id));
          error |= slice.logs[l].level >= LogLevel::kError;
        }
      op.lines[std::min<size_t>(seq.size(), 15)] += 1;
      uniq = seq;
      if (child_steps_)  // its own inner and client spans: a callee's span under a client span is the callee's
        for (size_t c : children[i])
          if (slice.spans[c].entity == s.entity) uniq.push_back(child_step_of(slice.spans[c]));
      if (!uniq.empty()) {
        op.with_steps += 1;
        op.error_step += error ? 1 : 0;
        std::sort(uniq.begin(), uniq.end());
        uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
        std::vector<std::pair<std::uint64_t, double>> one;
        for (auto u : uniq) one.push_back({u, 1});
        merge_counts(op.steps, one, 1);
        pairs.clear();
        for (size_t k = 1; k < seq.size(); ++k) pairs.push_back(mix(seq[k - 1], seq[k]));
        std::sort(pairs.begin(), pairs.end());
        pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
        one.clear();
        for (auto p : pairs) one.push_back({p, 1});
        merge_counts(op.pairs, one, 1);
      }
    }
    // calls into other entities: attributed to the callee
    for (size_t c : children[i]) {
      const Span& ch = slice.spans[c];
      if (ch.entity == s.entity || ch.entity == kNoId) continue;
      const std::uint64_t key =
          key_of(EventKind::kEdge, svc + " -> " + service_name(ch.entity) + "|" + operation_name(ch.operation));
      callers.emplace(key, catalog_.service_of(s.entity));
      EventStats& e = stats(EventKind::kEdge, ch.entity, key);
      e.n += 1;
      e.errors += ch.error ? 1 : 0;
      e.a.add(static_cast<double>(std::max<TimeUs>(0, ch.start - s.start)));
      e.b.add(static_cast<double>(std::max<std::int64_t>(0, s.duration_us - ch.duration_us)));
    }
    if (peer_callee != kNoId) {
      // no callee span: no start lag, and the caller's wait is the whole call
      const std::uint64_t key =
          key_of(EventKind::kEdge, svc + " -> " + service_name(peer_callee) + std::string(kNamedPeerMark) + "|" +
                                       operation_name(s.operation));
      callers.emplace(key, catalog_.service_of(s.entity));
      EventStats& e = stats(EventKind::kEdge, peer_callee, key);
      e.n += 1;
      e.errors += s.error ? 1 : 0;
      e.b.add(static_cast<double>(s.duration_us));
    }
  }
  log_gap_counts_.gap_panes += pane_has_gap ? 1 : 0;
  // log templates of the head pane
  for (const auto& l : slice.logs) {
    if (l.time < slice.start || l.time >= pane_end || l.entity == kNoId) continue;
    const std::string text = l.template_id == kNoId ? std::string("<unparsed>") : template_text_(l.template_id);
    EventStats& t = stats(EventKind::kTemplate, l.entity, key_of(EventKind::kTemplate, service_name(l.entity) + "|" + text));
    t.n += 1;
    if (split_failed_calls_ && !l.span_id.empty()) {  // a failure below, logged on its way up: not this entity's
      auto it = by_id.find(l.span_id);
      if (it != by_id.end() && call_failed(it->second)) continue;
    }
    t.errors += l.level >= LogLevel::kError ? 1 : 0;
    t.warns += l.level == LogLevel::kWarn ? 1 : 0;
  }
  out.events.reserve(acc.size());
  for (auto& [ek, st] : acc) {
    st.panes = 1;
    const auto c = callers.find(ek.second);
    out.events.push_back({kinds[ek.second], ek.first, ek.second, std::move(st), c == callers.end() ? kNoId : c->second});
  }
  return out;
}

EdgeSparsity edge_sparsity(const std::vector<const PaneSummary*>& panes,
                           const std::vector<std::pair<TimeUs, TimeUs>>& windows, double min_samples) {
  EdgeSparsity out;
  std::map<std::pair<Id, std::uint64_t>, double> calls;
  size_t first = 0;  // windows come in time order: the first pane that can lie in the next one
  for (const auto& [start, end] : windows) {
    while (first < panes.size() && panes[first]->start < start) ++first;
    calls.clear();
    for (size_t k = first; k < panes.size() && panes[k]->start < end; ++k)
      for (const auto& e : panes[k]->events)
        if (e.kind == EventKind::kEdge) calls[{e.entity, e.key}] += e.stats.n;
    for (const auto& [ek, n] : calls) {
      out.rows += 1;
      out.few += n < min_samples;
    }
  }
  return out;
}

std::unordered_map<std::uint64_t, std::vector<size_t>> index_by_key(const PaneSummary& pane) {
  std::unordered_map<std::uint64_t, std::vector<size_t>> idx;
  for (size_t i = 0; i < pane.events.size(); ++i) idx[pane.events[i].key].push_back(i);
  return idx;
}

// ---------------------------------------------------------------- deviations

namespace {

// One key of a window: its statistics over the window and, with EventOptions::latest_pane, the two time
// histograms of the window's last pane alone.
struct WindowKey {
  EventKind kind = EventKind::kOperation;
  EventStats w;
  bool in_latest = false;  // the key has spans / calls in the last pane
  double latest_n = 0;
  LogHist latest_a, latest_b;
};

}  // namespace

std::vector<EventDeviation> event_deviations(const std::vector<const PaneSummary*>& window,
                                             const ProfileLookup& profile, const EventOptions& o) {
  // A median moves once delayed calls are most of the window: a fault that began in the latest pane shows in
  // that pane's median first. Its z is scaled to the window's call count, so that without a fault it spreads as
  // the window's does (a median of n values varies as 1 / sqrt(n)); the larger z counts.
  const PaneSummary* latest = o.latest_pane && window.size() >= 2 ? window.back() : nullptr;
  std::map<std::pair<Id, std::uint64_t>, WindowKey> merged;
  std::unordered_map<std::uint64_t, Id> callers;
  for (const PaneSummary* p : window)
    for (const auto& e : p->events) {
      WindowKey& m = merged[{e.entity, e.key}];
      m.kind = e.kind;
      m.w.merge(e.stats, 1);
      if (p == latest) {
        m.in_latest = true;
        m.latest_n += e.stats.n;
        m.latest_a.merge(e.stats.a);
        m.latest_b.merge(e.stats.b);
      }
      if (e.caller != kNoId) callers.emplace(e.key, e.caller);
    }
  std::map<Id, double> entity_lines;
  for (const auto& [ek, v] : merged)
    if (v.kind == EventKind::kTemplate) entity_lines[ek.first] += v.w.n;
  std::vector<EventDeviation> out;
  out.reserve(merged.size());
  for (const auto& [ek, v] : merged) {
    const EventStats& w = v.w;
    const EventStats p = profile(ek.second);
    EventDeviation d;
    d.kind = v.kind;
    d.entity = ek.first;
    d.key = ek.second;
    if (auto c = callers.find(d.key); c != callers.end()) d.caller = c->second;
    d.n = w.n;
    d.profile_n = p.n;
    d.ready = p.n >= o.min_samples;
    const double w_rate = w.n / std::max(1.0, w.panes), p_rate = p.n / std::max(1.0, p.panes);
    d.rate_ratio = d.ready ? std::log((w_rate + 1.0) / (p_rate + 1.0)) : 0.0;
    if (d.kind == EventKind::kTemplate) {
      d.error_share = w.n > 0 ? w.errors / w.n : 0;
      d.warn_share = w.n > 0 ? w.warns / w.n : 0;
      d.is_new = p.n < 0.5;
      d.entity_share = entity_lines[d.entity] > 0 ? w.n / entity_lines[d.entity] : 0;
      d.error_excess = d.error_share - (p.n > 0 ? p.errors / p.n : 0);
      d.score = std::max({std::fabs(d.rate_ratio), 10.0 * std::max(0.0, d.error_excess), d.is_new ? 3.0 : 0.0});
      out.push_back(d);
      continue;
    }
    d.z_a = robust_z(w.a, p.a, o, &d.median_a, &d.normal_a, &d.alarm_z_a, &d.slow_a);
    d.z_b = robust_z(w.b, p.b, o, &d.median_b, &d.normal_b, &d.alarm_z_b, &d.slow_b);
    d.calls_a = w.a.n;
    d.calls_b = w.b.n;
    if (v.in_latest) {
      const double f = w.n > 0 ? std::sqrt(std::min(1.0, v.latest_n / w.n)) : 0.0;
      double median = 0, normal = 0, alarm = 0, slow = 0;
      const double z_a = robust_z(v.latest_a, p.a, o, &median, &normal, &alarm, &slow) * f;
      d.alarm_z_a = std::max(d.alarm_z_a, alarm * f);
      if (z_a > d.z_a) {
        d.z_a = z_a;
        d.median_a = median;
        d.calls_a = v.latest_a.n;
        d.slow_a = slow;
      }
      const double z_b = robust_z(v.latest_b, p.b, o, &median, &normal, &alarm, &slow) * f;
      d.alarm_z_b = std::max(d.alarm_z_b, alarm * f);
      if (z_b > d.z_b) {
        d.z_b = z_b;
        d.median_b = median;
        d.calls_b = v.latest_b.n;
        d.slow_b = slow;
      }
    }
    if (w.n >= o.min_samples && p.n >= o.min_samples) d.error_excess = w.errors / w.n - p.errors / p.n;
    d.has_steps = w.with_steps > 0 || p.with_steps > 0;
    // the spans judged on their steps (EventOptions::log_gaps: not those in a gap of the log collection)
    const double w_n = w.judged(), p_n = p.judged();
    if (d.kind == EventKind::kOperation && w_n >= o.min_samples && p.with_steps >= o.min_samples) {
      // expected steps that went missing: largest drop of a step's share of spans
      for (const auto& [step, cnt] : p.steps) {
        const double normal = cnt / p_n;  // share of the key's judged spans that log this step
        if (normal < o.expected_step) continue;
        const double seen = count_of(w.steps, step) / w_n;
        if (normal - seen > d.missing) {
          d.missing = normal - seen;
          d.missing_step = step;
          d.missing_normal = normal;
          d.missing_seen = seen;
        }
      }
      // spans ending early: fewer lines than the profile's 10th percentile
      int p10 = 0;
      for (double acc = 0; p10 < 16; ++p10) {
        acc += p.lines[p10];
        if (acc >= 0.1 * p_n) break;
      }
      if (p10 > 0) {
        double w_below = 0, p_below = 0;
        for (int k = 0; k < p10; ++k) {
          w_below += w.lines[k];
          p_below += p.lines[k];
        }
        d.early = w_below / w_n - p_below / p_n;
      }
      if (w.with_steps >= 1) {
        d.error_step = w.error_step / w_n - p.error_step / p_n;
        double rare = 0, fresh = 0;
        for (const auto& [pair, cnt] : w.pairs)
          if (count_of(p.pairs, pair) < o.rare_pair * p.with_steps) rare += cnt;
        for (const auto& [step, cnt] : w.steps)
          if (count_of(p.steps, step) < 0.5) fresh += cnt;
        d.rare_pair = std::min(1.0, rare / w_n);
        d.new_step = std::min(1.0, fresh / w_n);
      }
    }
    d.score = std::max({d.z_a / 3.0, d.z_b / 3.0, 10.0 * d.error_excess, 10.0 * d.missing, 10.0 * d.early,
                        10.0 * d.error_step, 10.0 * d.rare_pair, std::fabs(d.rate_ratio) / 2.0});
    out.push_back(d);
  }
  return out;
}

}  // namespace rslicer
